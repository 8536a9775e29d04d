// At initialize: Node's diagnostic report pointed at the spool's fatal/ folder (unless the application set it up itself), and this process's attributes recorded there.
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { splitNodeOptions } from "./crash.js";
import { evaluatesCode } from "../enrich/attributes.js";
import { openFatalFolder, pruneProcessRecords, writeProcessRecord } from "../spool/fatal-folder.js";
import { loadKey } from "../spool/spool-guard.js";

/** The part of `process.report` this file reads and sets. */
export interface ReportSettings {
  reportOnFatalError: boolean;
  reportOnSignal: boolean;
  reportOnUncaughtException: boolean;
  directory: string;
  filename: string;
  compact: boolean;
  signal: string;
}

/**
 * True when the application (or its command line) configured Node's diagnostic report: any value not
 * Node's default, or a `--report-*` flag on the command line or in NODE_OPTIONS. Such a set-up is its own.
 */
export function reportConfiguredElsewhere(
  settings: ReportSettings,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env["NODE_OPTIONS"],
): boolean {
  const flags = [...execArgv, ...splitNodeOptions(nodeOptions ?? "")];
  if (flags.some((flag) => /^--report[-_]/.test(flag))) return true;
  return (
    settings.reportOnFatalError ||
    settings.reportOnSignal ||
    settings.reportOnUncaughtException ||
    settings.directory !== "" ||
    settings.filename !== "" ||
    settings.compact ||
    settings.signal !== "SIGUSR2"
  );
}

/**
 * The clients of this process whose set-up is on, oldest first, shared by every loaded copy of the library: the last
 * one's folder is `process.report.directory`. A client started while another's set-up is on takes it over (a second
 * `initialize()` finalizes the first client after the new one started), and the set-up ends with the last of them.
 */
interface Owners {
  list: Array<{ dir: string }>;
  /** The last record's start time: two clients started in the same millisecond get records of their own. */
  lastStart: number;
}

function owners(): Owners {
  const key = Symbol.for("backtrace-ts.fatal-report-owners");
  const holder = globalThis as Record<symbol, Owners | undefined>;
  return (holder[key] ??= { list: [], lastStart: 0 });
}

/** True when `process.report` holds exactly what the latest of our clients set: it is ours to take over. */
function setByUs(settings: ReportSettings, list: Owners["list"]): boolean {
  const latest = list[list.length - 1];
  if (latest === undefined || settings.directory !== latest.dir || !settings.reportOnFatalError) return false;
  return !reportConfiguredElsewhere({ ...settings, directory: "", reportOnFatalError: false }, [], "");
}

/**
 * Where Node's command line (node, its own flags, then the script, then the application's arguments) has the script.
 * With code given by -e/-p (their value is one of Node's flags) there is no script: what follows Node's flags is the
 * application's, so the index is that of the last flag.
 */
export function scriptIndexOf(execArgv: readonly string[]): number {
  return evaluatesCode(execArgv) ? execArgv.length : 1 + execArgv.length;
}

export interface FatalSetup {
  /** The folder reports are written to and read from. */
  dir: string;
  /** Writes the attributes record now. */
  write(attributes: Record<string, unknown>): void;
  /** Writes the attributes record again within a second (the client's attributes changed); a burst of changes writes once. */
  update(attributes: () => Record<string, unknown>): void;
  /** Removes the records of processes that are gone and left no report (this process's own record stays). */
  prune(): void;
  /** Puts `process.report` back when it still holds our values, and removes this process's record. */
  uninstall(): void;
}

export interface FatalSetupOptions {
  spoolDir: string;
  /** The key of a spool that checked `spoolDir` just now: the fatal folder's ancestors are not checked again. */
  key?: Buffer | undefined;
  debug?: ((message: string) => void) | undefined;
  report?: ReportSettings;
  now?: () => number;
}

/**
 * Points Node's diagnostic report at `<spool>/fatal/` for fatal errors (out of memory, V8 and Node fatal
 * errors) and records what the process would have sent. Never throws: undefined when the folder cannot be used
 * or the application configured the report itself (left alone).
 * Only the main thread sets it: `process.report` belongs to the whole process.
 */
export function setupFatalReports(options: FatalSetupOptions): FatalSetup | undefined {
  try {
    const report = options.report ?? (process.report as unknown as ReportSettings);
    const spoolDir = resolve(options.spoolDir);
    const dir = openFatalFolder(spoolDir, process.getuid?.(), options.key !== undefined);
    if (dir === undefined) {
      options.debug?.("fatal error reports are off: the spool's fatal/ folder cannot be used");
      return undefined;
    }
    const key = options.key ?? loadKey(spoolDir, process.getuid?.());
    const shared = owners();
    const startedAt = Math.max((options.now ?? Date.now)(), shared.lastStart + 1);
    const own = { path: undefined as string | undefined };
    const record = (attributes: Record<string, unknown>): void => {
      own.path = writeProcessRecord(dir, { pid: process.pid, startedAt, scriptIndex: scriptIndexOf(process.execArgv), attributes }, key) ?? own.path;
    };
    if (!setByUs(report, shared.list) && reportConfiguredElsewhere(report)) {
      options.debug?.("process.report is configured by the application: fatal error reports are left to it");
      return undefined;
    }
    shared.lastStart = startedAt;
    report.directory = dir;
    report.reportOnFatalError = true;
    const owner = { dir };
    shared.list.push(owner);
    let timer: NodeJS.Timeout | undefined;
    return {
      dir,
      write: (attributes) => {
        try {
          record(attributes);
        } catch {
          // No record: the report is still sent, with the attributes of the process that sends it.
        }
      },
      prune() {
        try {
          pruneProcessRecords(dir, own.path);
        } catch {
          // Records left now are pruned by the next start.
        }
      },
      update(attributes) {
        if (timer !== undefined) return;
        // Unreferenced: a record not written yet never keeps the process up.
        timer = setTimeout(() => {
          timer = undefined;
          try {
            record(attributes());
          } catch {
            // The record stays as it was.
          }
        }, 1000).unref();
      },
      uninstall() {
        clearTimeout(timer);
        try {
          const latest = shared.list[shared.list.length - 1] === owner;
          const ours = setByUs(report, shared.list);
          const at = shared.list.indexOf(owner);
          if (at >= 0) shared.list.splice(at, 1);
          // Only the latest client's values are in place; an earlier client's end leaves them to the clients still on.
          if (latest && ours) {
            const next = shared.list[shared.list.length - 1];
            if (next !== undefined) report.directory = next.dir;
            else {
              report.reportOnFatalError = false;
              report.directory = "";
            }
          }
          if (own.path !== undefined) rmSync(own.path, { force: true });
        } catch {
          // Best effort: nothing of it may reach the application.
        }
      },
    };
  } catch (error) {
    options.debug?.(`fatal error reports are off: ${(error as Error).message}`);
    return undefined;
  }
}
