// Command-line arguments to receiver options; pure, so it is tested without starting a process.
import { parseArgs } from "node:util";
import { ReceiverError } from "./errors.js";
import { defaults, type ReceiverOptions } from "./options.js";

export const usage = `Usage: backtrace-ts-receiver [options]

A local Backtrace-compatible receiver with a web viewer.

Options:
  --port <n>        TCP port to listen on, 0 for any free port (default ${defaults.port})
  --host <addr>     interface to listen on (default ${defaults.host})
  --db <file>       SQLite database file (default ./${defaults.db})
  --token <token>   accept only this token (default: any token is accepted)
  --max-body <n>    largest request body in bytes; k/m suffixes allowed (default 10m)
  --viewer-token <token>
                    require this token for the viewer, the JSON API and downloads
                    (the browser asks: any user name, the token as password)
  --allowed-hosts <names>
                    comma-separated host names accepted in the Host header besides
                    the listening address, localhost, 127.0.0.1 and [::1]
                    (".example.test" takes its subdomains too)
  --allow-origin <origins>
                    comma-separated web origins whose pages may submit reports,
                    e.g. http://localhost:3000 (default: no web page may)
  --allow-unprotected
                    listen on a non-loopback --host without --viewer-token
  -h, --help        show this help

Clients submit to http://<host>:<port>/post?format=json&token=<token>.`;

export type CliCommand = { help: true } | { help: false; options: ReceiverOptions };

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new ReceiverError("BAD_OPTION", `${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

/** "a,b" to ["a", "b"]; an empty entry is a mistake worth stopping for. */
function commaList(flag: string, value: string): string[] {
  const items = value.split(",").map((item) => item.trim());
  if (items.some((item) => item === "")) throw new ReceiverError("BAD_OPTION", `${flag} takes a comma-separated list with no empty entries, got "${value}"`);
  return items;
}

/** "10485760", "512k", "10m" (binary units). */
export function parseSize(value: string): number {
  const match = /^(\d+)\s*(k|kb|kib|m|mb|mib)?$/i.exec(value.trim());
  if (!match) throw new ReceiverError("BAD_OPTION", `--max-body must be a number of bytes such as 1048576, 512k or 10m, got "${value}"`);
  const unit = (match[2] ?? "").toLowerCase();
  const factor = unit.startsWith("m") ? 1024 * 1024 : unit.startsWith("k") ? 1024 : 1;
  return Number(match[1]) * factor;
}

/** Throws `ReceiverError` (BAD_OPTION) for unknown flags, missing values and malformed numbers. */
export function parseCliArgs(argv: string[]): CliCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        db: { type: "string" },
        token: { type: "string" },
        "max-body": { type: "string" },
        "viewer-token": { type: "string" },
        "allowed-hosts": { type: "string" },
        "allow-origin": { type: "string" },
        "allow-unprotected": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new ReceiverError("BAD_OPTION", (error as Error).message);
  }
  if (values["help"]) return { help: true };
  const options: ReceiverOptions = {};
  if (typeof values["port"] === "string") options.port = wholeNumber("--port", values["port"]);
  if (typeof values["host"] === "string") options.host = values["host"];
  if (typeof values["db"] === "string") options.db = values["db"];
  if (typeof values["token"] === "string") options.token = values["token"];
  if (typeof values["max-body"] === "string") options.maxBody = parseSize(values["max-body"]);
  if (typeof values["viewer-token"] === "string") options.viewerToken = values["viewer-token"];
  if (typeof values["allowed-hosts"] === "string") options.allowedHosts = commaList("--allowed-hosts", values["allowed-hosts"]);
  if (typeof values["allow-origin"] === "string") options.allowOrigins = commaList("--allow-origin", values["allow-origin"]);
  if (values["allow-unprotected"] === true) options.allowUnprotected = true;
  return { help: false, options };
}
