// The `backtrace-ts` command: `check` sends a test report with the environment's configuration; `spool list|replay|clear` and `inspect` work on the configured spool.
import { lazyFsPromises } from "../builtins.js";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readEnvOptions, withEnvOptions } from "./env.js";
import { errorText } from "../errors.js";
import { resolveOptions, type BacktraceOptions, type ResolvedOptions } from "../options.js";
import { redactText, redactUrl, urlSecrets } from "../submission-url.js";
import { jsonText } from "../payload.js";
import { createSpool, type Spool } from "../spool/spool.js";
import { openDefaultSpool } from "../spool/spool-location.js";
import { FATAL_FOLDER, listReports } from "../spool/fatal-folder.js";

const HELP: Record<string, string> = {
  main: `Usage: backtrace-ts <command> [--help]

Commands:
  check                 send a test report with this environment's configuration
  spool list            the reports waiting in the spool: uuid, age, size (and fatal errors' diagnostic reports)
  spool replay          send the spooled reports now
  spool clear           delete the spooled reports
  inspect <record>      print a spooled report (uuid or file name), the token masked

Configuration comes from the environment: BACKTRACE_ENDPOINT, BACKTRACE_TOKEN, BACKTRACE_SPOOL, ...`,
  check: `Usage: backtrace-ts check

Sends one test report to BACKTRACE_ENDPOINT (with BACKTRACE_TOKEN and the other BACKTRACE_* variables)
and prints whether it was accepted, with its rxid. Exit code 0 when accepted, 1 otherwise.`,
  spool: `Usage: backtrace-ts spool list|replay|clear

  list     uuid, age and size of each report waiting in the configured spool (BACKTRACE_SPOOL or the default folder),
           and of each diagnostic report Node wrote at a fatal error (out of memory) into its fatal/ folder
  replay   sends them to the endpoint now (a diagnostic report becomes a report first); exit code 1 if some are left
  clear    deletes them`,
  inspect: `Usage: backtrace-ts inspect <record>

Prints the spooled report whose uuid (or file name) is <record>, as JSON, with the token masked.`,
};

// The main bundle sits next to this one in dist/; a name in a variable keeps it out of this bundle.
const MAIN_ENTRY: string = "./index.mjs";

interface ClientLike {
  sendReport(message: string, options?: { attributes?: Record<string, unknown> }): Promise<{ status: string; rxid?: string; reason?: string; uuid: string }>;
  flush(timeout?: number): Promise<boolean>;
  finalize(): Promise<void>;
}

async function newClient(options: BacktraceOptions): Promise<ClientLike> {
  const main = (await import(MAIN_ENTRY)) as { BacktraceClient: new (options: BacktraceOptions) => ClientLike };
  return new main.BacktraceClient(options);
}

function configuration(): { options: BacktraceOptions; resolved: ResolvedOptions } {
  const { options } = withEnvOptions(undefined);
  return { options, resolved: resolveOptions(options) };
}

function openSpool(resolved: ResolvedOptions): Spool | undefined {
  if (resolved.spool === false) return undefined;
  return resolved.spool !== undefined ? createSpool({ dir: resolved.spool }) : openDefaultSpool(resolved.submissionUrl, {});
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
}

async function check(out: (line: string) => void): Promise<number> {
  const { options, resolved } = configuration();
  out(`endpoint: ${redactUrl(resolved.submissionUrl)}`);
  const client = await newClient({ ...options, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  const outcome = await client.sendReport("backtrace-ts check: test report", { attributes: { "backtrace-ts.check": true } });
  await client.finalize();
  if (outcome.status === "sent") {
    out(`accepted: rxid ${outcome.rxid ?? "(none)"}, uuid ${outcome.uuid}`);
    return 0;
  }
  out(`not accepted: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ""}, uuid ${outcome.uuid}`);
  return 1;
}

async function spoolCommand(action: string | undefined, out: (line: string) => void): Promise<number> {
  const { options, resolved } = configuration();
  const spool = openSpool(resolved);
  if (!spool || !spool.enabled) {
    out(spool ? `the spool folder cannot be used: ${spool.dir}` : "the spool is off (BACKTRACE_SPOOL)");
    return action === "list" ? 0 : 1;
  }
  const fatalDir = join(spool.dir, FATAL_FOLDER);
  const entries = await spool.list();
  const fatal = listReports(fatalDir);
  const total = entries.length + fatal.length;
  const waiting = async (): Promise<number> => (await spool.list()).length + listReports(fatalDir).length;
  if (action === "list") {
    out(`spool: ${spool.dir} (${total} report${total === 1 ? "" : "s"})`);
    for (const entry of entries) {
      const mtime = await lazyFsPromises().stat(join(spool.dir, entry.file)).then((s) => s.mtimeMs, () => Date.now());
      out(`${entry.uuid}  ${age(Date.now() - mtime).padStart(4)}  ${entry.bytes} B`);
    }
    for (const name of fatal) {
      const info = await lazyFsPromises().stat(join(fatalDir, name)).then((s) => ({ mtime: s.mtimeMs, size: s.size }), () => ({ mtime: Date.now(), size: 0 }));
      out(`${name}  ${age(Date.now() - info.mtime).padStart(4)}  ${info.size} B  fatal error (diagnostic report, sent as a report at the next start or replay)`);
    }
    return 0;
  }
  if (action === "clear") {
    for (const entry of entries) await spool.remove(entry);
    for (const name of fatal) await lazyFsPromises().rm(join(fatalDir, name), { force: true });
    out(`deleted ${total} report${total === 1 ? "" : "s"} from ${spool.dir}`);
    return 0;
  }
  if (action === "replay") {
    // A client over the folder sends what it holds at start (delivery's replay pass, and the fatal folder's
    // diagnostic reports, each made a report and sent or spooled); we wait for both to empty.
    const client = await newClient({ ...options, spool: spool.dir, disableGlobalHandler: true, breadcrumbs: false });
    const deadline = Date.now() + (resolved.timeout + 1) * Math.max(1, total) * 1000;
    let left = total;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await waiting();
    }
    await client.finalize();
    left = await waiting();
    out(`sent ${Math.max(0, total - left)} of ${total}; ${left} left in ${spool.dir}`);
    return left === 0 ? 0 : 1;
  }
  out(HELP["spool"]!);
  return 2;
}

async function inspect(record: string | undefined, out: (line: string) => void): Promise<number> {
  if (!record) {
    out(HELP["inspect"]!);
    return 2;
  }
  const { resolved } = configuration();
  const spool = openSpool(resolved);
  const entry = spool?.enabled ? (await spool.list()).find((e) => e.uuid === record || e.file === record) : undefined;
  const payload = entry && spool ? await spool.read(entry) : undefined;
  if (!entry || !spool || !payload) {
    out(`no spooled report ${record}`);
    return 1;
  }
  await spool.release(entry);
  const text = redactText(jsonText(payload.json), urlSecrets(resolved.submissionUrl));
  out(JSON.stringify(JSON.parse(text), null, 2));
  for (const attachment of payload.attachments) out(`attachment: ${attachment.name}`);
  return 0;
}

export async function main(argv: string[], out: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: "boolean", short: "h" } } });
  } catch (error) {
    out(errorText(error));
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === undefined || command === "help") {
    out(HELP[command === "help" ? (rest[0] ?? "main") : (command ?? "main")] ?? HELP["main"]!);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  try {
    readEnvOptions();
    if (command === "check") return await check(out);
    if (command === "spool") return await spoolCommand(rest[0], out);
    if (command === "inspect") return await inspect(rest[0], out);
  } catch (error) {
    // Configuration errors name the variable and never echo a value.
    out(`backtrace-ts: ${errorText(error).replace(/^(BT_\w+: )?backtrace-ts: /, "$1")}`);
    return 1;
  }
  out(HELP["main"]!);
  return 2;
}

/** Runs the command of this process's arguments; its exit code becomes the process's. */
export async function runCommandLine(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2));
}
