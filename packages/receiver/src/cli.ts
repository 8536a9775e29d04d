#!/usr/bin/env node
// The backtrace-ts-receiver command: parses flags, starts the receiver, prints where it is, stops on SIGINT/SIGTERM.
import { resolve } from "node:path";
import { parseCliArgs, usage } from "./args.js";
import { isReceiverError } from "./errors.js";
import { defaults } from "./options.js";
import { startReceiver } from "./server.js";

async function main(): Promise<void> {
  let command;
  try {
    command = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`backtrace-ts-receiver: ${(error as Error).message}\n\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  if (command.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const options = command.options;
  const db = options.db === ":memory:" ? ":memory:" : resolve(options.db ?? defaults.db);
  let receiver;
  try {
    receiver = await startReceiver({ ...options, db, log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`) });
  } catch (error) {
    process.stderr.write(`backtrace-ts-receiver: ${(error as Error).message}\n`);
    process.exitCode = isReceiverError(error) ? 2 : 1;
    return;
  }
  // Handlers go in before the address is printed: whoever reads it may signal at once.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    receiver.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`backtrace-ts-receiver: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const token = options.token === undefined ? "<any token>" : "<your token>";
  process.stdout.write(
    [
      `backtrace-ts-receiver listening on ${receiver.url}`,
      `  viewer:   ${receiver.url}/`,
      `  submit:   ${receiver.url}/post?format=json&token=${token}`,
      `  database: ${db}`,
      options.token === undefined ? "  token:    any token is accepted (use --token to require one)" : "  token:    only the configured token is accepted",
      options.viewerToken === undefined ? "  access:   the viewer is open to this machine (use --viewer-token to protect it)" : "  access:   the viewer needs the viewer token (any user name, the token as password)",
      "Press Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
}

void main();
