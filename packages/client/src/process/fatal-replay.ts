// Diagnostic reports left by a fatal error (out of memory, a V8 or Node fatal error) turned into Backtrace reports and sent at the next start; environment and command-line secrets never leave.
import { readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { WireFrame, WireThread } from "../body.js";
import { internalReport, type BacktraceReport, type ReportSender } from "../capture/report.js";
import { PROCESS_STATUS_ATTRIBUTES } from "../enrich/attributes.js";
import type { SendOutcome } from "../outcome.js";
import { CLAIM, findProcessRecord, listReports, openFatalFolder, reportPid, reportUuid, writtenByThisProcess, type ProcessRecord } from "../spool/fatal-folder.js";
import { loadKey } from "../spool/spool-guard.js";

type Json = Record<string, unknown>;

const OUT_OF_MEMORY = /heap|out of memory|OOM/i;

function object(value: unknown): Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** `OutOfMemory` for heap exhaustion (V8's "Reached heap limit", "JavaScript heap out of memory"), else the fatal error's name. */
export function fatalClassifier(header: Json): string {
  const event = text(header["event"]) ?? "";
  const trigger = text(header["trigger"]) ?? "";
  if (OUT_OF_MEMORY.test(event) || trigger === "OOMError") return "OutOfMemory";
  return /^\w+$/.test(trigger) && trigger !== "" ? trigger : "FatalError";
}

/** The JavaScript stack as V8 stack text ("    at f (file:1:2)"), or only the message line when Node wrote none. */
export function javascriptStackText(stack: Json | undefined, message: string): string {
  const lines = Array.isArray(stack?.["stack"]) ? (stack["stack"] as unknown[]) : [];
  const frames = lines.filter((line): line is string => typeof line === "string" && line.trimStart().startsWith("at "));
  return [message, ...frames.map((line) => `    ${line.trim()}`)].join("\n");
}

/** Native frames: the symbol as the function name (the address when there is none), the binary as the library. */
export function nativeThread(native: unknown): WireThread {
  const stack: WireFrame[] = [];
  for (const entry of Array.isArray(native) ? native : []) {
    const frame = object(entry);
    if (frame === undefined) continue;
    const pc = text(frame["pc"]) ?? "";
    const symbol = (text(frame["symbol"]) ?? "").trim();
    const binary = /\s*\[([^\]]+)\]$/.exec(symbol);
    const name = (binary ? symbol.slice(0, binary.index) : symbol).trim();
    const wire: WireFrame = { funcName: name === "" ? pc || "unknown" : name, native: true };
    if (binary) wire.library = binary[1]!;
    stack.push(wire);
  }
  return { name: "main (native)", fault: false, stack };
}

/**
 * Node's command line without the application's own arguments (after the script): dropped and counted.
 * What stays (node, its flags, the script) is redacted by shape with every annotation when the body is built.
 */
export function safeCommandLine(commandLine: unknown, scriptIndex: number | undefined): { kept: string[]; dropped: number } {
  const all = Array.isArray(commandLine) ? commandLine.filter((arg): arg is string => typeof arg === "string") : [];
  // Without the record of the process, only the executable is known not to be an argument of the application.
  const keep = scriptIndex === undefined ? 1 : scriptIndex + 1;
  // Code given by -e/-p is the application's own text, as a script file's content is (which is never sent): its flag stays, the code goes.
  const kept = all.slice(0, keep).map((arg, i, args) => {
    if (i > 0 && CODE_FLAG.test(args[i - 1]!)) return CODE_LEFT_OUT;
    const joined = /^(--eval|--print)=/.exec(arg);
    return joined ? `${joined[1]}=${CODE_LEFT_OUT}` : arg;
  });
  return { kept, dropped: Math.max(0, all.length - keep) };
}

/** The flags whose value is the code Node runs (no script file). */
const CODE_FLAG = /^(?:-[ep]|-pe|-ep|--eval|--print)$/;
const CODE_LEFT_OUT = "[code left out]";

/** A worker's sub-report without what may hold secrets (its environment, its own workers'). */
function cleanWorker(value: unknown): Json | undefined {
  const worker = object(value);
  if (worker === undefined) return undefined;
  const header = object(worker["header"]) ?? {};
  return {
    threadId: header["threadId"],
    javascriptStack: worker["javascriptStack"],
    javascriptHeap: worker["javascriptHeap"],
    libuv: worker["libuv"],
  };
}

/** The parts of a diagnostic report that are sent; `environmentVariables`, network interfaces, arguments and the working folder are not. */
export function fatalAnnotations(report: Json, scriptIndex: number | undefined): Json {
  const header = object(report["header"]) ?? {};
  const commandLine = safeCommandLine(header["commandLine"], scriptIndex);
  const summary: Json = {};
  // Not the working folder: it may be the user's home, and no other report sends it.
  for (const key of ["event", "trigger", "dumpEventTime", "processId", "threadId", "nodejsVersion", "arch", "platform", "osName", "osRelease", "osMachine", "host", "reportVersion"]) {
    if (header[key] !== undefined) summary[key] = header[key];
  }
  summary["commandLine"] = commandLine.kept;
  if (commandLine.dropped > 0) summary["droppedArguments"] = commandLine.dropped;
  if (Array.isArray(header["cpus"])) summary["cpuCount"] = header["cpus"].length;
  const workers = Array.isArray(report["workers"]) ? report["workers"].map(cleanWorker).filter((w) => w !== undefined) : [];
  return {
    "Diagnostic report": summary,
    "Heap statistics": report["javascriptHeap"] ?? {},
    "Resource usage": { process: report["resourceUsage"] ?? {}, thread: report["uvthreadResourceUsage"] ?? {} },
    "libuv handles": report["libuv"] ?? [],
    ...(report["userLimits"] !== undefined ? { "User limits": report["userLimits"] } : {}),
    ...(workers.length > 0 ? { Workers: workers } : {}),
  };
}

/**
 * The Backtrace report of one diagnostic report file: `error.type` Crash, the JavaScript stack as the
 * faulting thread (a synthetic error whose stack is that text, so it is source-mapped and given source
 * lines like any report), the native stack as a second thread, the recorded attributes of the process.
 */
export function fatalReport(sender: ReportSender, name: string, content: string, record: ProcessRecord | undefined): BacktraceReport {
  const parsed = object(JSON.parse(content)) ?? {};
  const header = object(parsed["header"]) ?? {};
  const classifier = fatalClassifier(header);
  const message = text(header["event"]) ?? classifier;
  const error = new Error(message);
  error.stack = javascriptStackText(object(parsed["javascriptStack"]), `${classifier}: ${message}`);
  const report = internalReport(sender).setException(error, "Crash");
  // The report is the crashed process's: its own id (the same at every try) and time, none of this process's breadcrumbs.
  const stamp = Number(text(header["dumpEventTimeStamp"]));
  Object.assign(report as { uuid: string; timestamp: number }, {
    uuid: reportUuid(name, content),
    ...(Number.isFinite(stamp) && stamp > 0 ? { timestamp: Math.floor(stamp / 1000) } : {}),
  });
  report.breadcrumbs = { entries: [], dropped: 0 };
  report.classifier = classifier;
  report.extraThreads = { "main-native": nativeThread(parsed["nativeStack"]) };
  if (record) {
    report.setDictAttributes(record.attributes);
    // The age is that of the crashed process, not of the one sending its report.
    if (Number.isFinite(stamp) && stamp >= record.startedAt) report.setAttribute("process.age", Math.floor((stamp - record.startedAt) / 1000));
  }
  // The crashed process's id, not the sender's: a process that died before its first turn recorded no defaults.
  const pid = Number(header["processId"]);
  if (Number.isSafeInteger(pid) && pid > 0) report.setAttribute("process.id", pid);
  // Nor is the sender's session that of the crashed process: without a recorded one, none.
  if (record?.attributes["application.session"] === undefined) report.setAttribute("application.session", null);
  // The process's memory at its death, from the diagnostic report. What is read from /proc/self/status for other
  // reports would be the sending process's now, or the crashed one's at its first turn: left out.
  for (const name of PROCESS_STATUS_ATTRIBUTES) report.setAttribute(name, null);
  const usage = object(parsed["resourceUsage"]) ?? {};
  for (const [field, name] of [["rss", "vm.rss.size"], ["maxRss", "vm.rss.peak"]] as const) {
    const bytes = Number(usage[field]);
    if (Number.isSafeInteger(bytes) && bytes > 0) report.setAttribute(name, bytes);
  }
  report.setAttribute("error.message", message);
  report.setDictAnnotations(fatalAnnotations(parsed, record?.scriptIndex));
  return report;
}

/** True when the outcome means the file is no longer needed: sent, kept in the spool under the same uuid, or dropped on purpose. */
function settled(outcome: SendOutcome): boolean {
  if (outcome.status === "sent") return true;
  // A server that refuses the report for what it is would refuse it at every start.
  if (outcome.status === "failed") return outcome.spooled === true || outcome.reason === "rejected" || outcome.reason === "too-large" || outcome.reason === "bad-request";
  return outcome.reason !== "client-finalized" && outcome.reason !== "backlog-full" && outcome.reason !== "exit";
}

/** Claims a file by renaming it, so two starts sharing the spool do not both send it; a claim of a dead process is taken back. */
function claim(dir: string, name: string): string | undefined {
  const claimed = join(dir, `${name}${CLAIM}${process.pid}`);
  try {
    renameSync(join(dir, name), claimed);
    return claimed;
  } catch {
    return undefined;
  }
}

function releaseStaleClaims(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const at = name.indexOf(CLAIM);
    if (at < 0) continue;
    const pid = Number(name.slice(at + CLAIM.length));
    let alive = pid === process.pid;
    try {
      if (!alive) alive = process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === "EPERM";
    }
    if (!alive) renameSync(join(dir, name), join(dir, name.slice(0, at)));
  }
}

/**
 * Sends every diagnostic report waiting in `<spoolDir>/fatal/` through `client`, oldest first, and removes
 * each file once it is settled (a file that could not be sent nor spooled stays for the next start, with the
 * same uuid). Never rejects; resolves to how many reports were handed to the client. Used by the client at
 * start and by `npx backtrace-ts spool replay`.
 */
export async function replayFatalReports(client: ReportSender, spoolDir: string, debug?: (message: string) => void, onUnreadable?: () => void): Promise<number> {
  let handed = 0;
  try {
    const root = resolve(spoolDir);
    const dir = openFatalFolder(root);
    if (dir === undefined) return 0;
    releaseStaleClaims(dir);
    const names = listReports(dir);
    if (names.length === 0) return 0;
    const key = loadKey(root, process.getuid?.());
    for (const name of names) {
      // A report this very process wrote (process.report.writeReport() while it runs) is no crash: the process lives.
      if (writtenByThisProcess(dir, name)) continue;
      const path = claim(dir, name);
      if (path === undefined) continue;
      let keep = true;
      try {
        const content = readFileSync(path, "utf8");
        const header = object(object(JSON.parse(content))?.["header"]) ?? {};
        const pid = reportPid(name) ?? Number(header["processId"]);
        const at = Number(text(header["dumpEventTimeStamp"]) ?? Date.now());
        const record = findProcessRecord(dir, pid, at, key)?.record;
        const report = fatalReport(client, name, content, record);
        handed++;
        keep = !settled(await client.send(report));
      } catch (error) {
        // A file that is not a diagnostic report (cut short by the crash) can never be sent.
        keep = false;
        onUnreadable?.();
        debug?.(`fatal report ${name} could not be read: ${(error as Error).message}; removed, counted in dropped["spool-corrupt"]`);
      }
      try {
        if (keep) renameSync(path, join(dir, name));
        else rmSync(path, { force: true });
      } catch {
        // Gone already, or the folder went away: nothing to undo.
      }
    }
  } catch (error) {
    debug?.(`fatal reports not replayed: ${(error as Error).message}`);
  }
  return handed;
}
