// The `fatal/` folder inside a spool: where Node writes diagnostic reports at a fatal error, the sealed attribute records beside them, and which report is whose.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { lazyCrypto, uuidFromHex } from "../builtins.js";
import { join } from "node:path";
import { refuseVirtualFolder, seal, unseal, unsafeFolder, unsafeLeaf } from "./spool-guard.js";

/** The folder's name inside the spool folder. */
export const FATAL_FOLDER = "fatal";

/** Node's default report file name: report.<date>.<time>.<pid>.<thread>.<sequence>.json. */
const REPORT_NAME = /^report\.\d{8}\.\d{6}\.(\d+)\.\d+\.\d+\.json$/;
/** attributes-<pid>-<start ms>.json: one per process start, so a pid used again (containers: pid 1) never overwrites. */
const ATTRIBUTES_NAME = /^attributes-(\d+)-(\d+)\.json$/;

/** What a process records at initialize for the report of its own fatal error. */
export interface ProcessRecord {
  pid: number;
  /** Epoch ms the record was written (the process's start, for matching a report to it). */
  startedAt: number;
  /** Index in Node's command line of the script (of the last of Node's flags when there is none: -e, -p): what follows it (the application's own arguments) is never sent. */
  scriptIndex: number;
  /** The attributes the process would have sent: the default ones and the client's. */
  attributes: Record<string, unknown>;
}

/**
 * The fatal folder of a spool folder, made (0700) and checked like the spool; undefined when it cannot be used.
 * `spoolChecked`: the spool folder itself passed `unsafeFolder` just now, so only the new leaf is checked.
 */
export function openFatalFolder(spoolDir: string, uid: number | undefined = process.getuid?.(), spoolChecked = false): string | undefined {
  const dir = join(spoolDir, FATAL_FOLDER);
  try {
    if (spoolChecked) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return unsafeLeaf(dir, uid) === undefined ? dir : undefined;
    }
    refuseVirtualFolder(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return unsafeFolder(dir, uid) === undefined ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The pid in a diagnostic report's file name, or undefined when the name is not Node's default one. */
export function reportPid(name: string): number | undefined {
  const match = REPORT_NAME.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * True when the diagnostic report `name` in `dir` was written by this very process (its pid, and written since the
 * process started, by the file's modification time): no crash, the process lives. Not the time in the name: that is
 * the writer's local time in whole seconds, so a previous process with the same pid (containers start as pid 1 every
 * time) that crashed in the second this one started, or under another time zone, would be taken for this one.
 */
export function writtenByThisProcess(dir: string, name: string): boolean {
  if (reportPid(name) !== process.pid) return false;
  try {
    const written = statSync(join(dir, name)).mtimeMs;
    // A file system keeping whole seconds only rounds down: then the second the process started counts as its own.
    const since = written % 1000 === 0 ? Math.floor(performance.timeOrigin / 1000) * 1000 : performance.timeOrigin;
    return written >= since;
  } catch {
    // Gone (another start took it): not ours to skip.
    return false;
  }
}

/** A report being sent is renamed to `<name><CLAIM><pid>` by the process that sends it. */
export const CLAIM = ".sending-";

/**
 * True when the spool's fatal/ folder holds a diagnostic report or a claimed one: only then is there anything to
 * replay (and the replay's code worth loading).
 */
export function fatalReportsWaiting(spoolDir: string): boolean {
  try {
    return readdirSync(join(spoolDir, FATAL_FOLDER)).some((name) => REPORT_NAME.test(name) || name.includes(CLAIM));
  } catch {
    return false;
  }
}

/** Diagnostic report files waiting in the folder, oldest first (Node's names sort by time). */
export function listReports(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => REPORT_NAME.test(name)).sort();
  } catch {
    return [];
  }
}

/**
 * The report's uuid, the same at every try: made from the file's name and bytes, so a server that saw it
 * once can drop a second delivery (a start that died after sending, before removing the file).
 */
export function reportUuid(name: string, text: string): string {
  return uuidFromHex(lazyCrypto().createHash("sha256").update(name).update("\0").update(text).digest("hex"));
}

/** Writes this process's record, sealed with the spool's key and readable by us alone. Returns its path, or undefined. */
export function writeProcessRecord(dir: string, record: ProcessRecord, key: Buffer): string | undefined {
  const path = join(dir, `attributes-${record.pid}-${record.startedAt}.json`);
  const temp = `${path}.tmp`;
  try {
    writeFileSync(temp, seal(JSON.stringify(record), key), { mode: 0o600 });
    renameSync(temp, path);
    return path;
  } catch {
    rmSync(temp, { force: true });
    return undefined;
  }
}

/**
 * The record of the process that wrote a report: the same pid, the latest start at or before the report's
 * time. A record that is not sealed with this spool's key (planted, altered) is ignored.
 */
export function findProcessRecord(dir: string, pid: number, at: number, key: Buffer): { record: ProcessRecord; file: string } | undefined {
  let best: { startedAt: number; file: string } | undefined;
  for (const file of safeList(dir)) {
    const match = ATTRIBUTES_NAME.exec(file);
    if (!match || Number(match[1]) !== pid) continue;
    const startedAt = Number(match[2]);
    if (startedAt <= at && (best === undefined || startedAt > best.startedAt)) best = { startedAt, file };
  }
  if (best === undefined) return undefined;
  try {
    const text = unseal(readFileSync(join(dir, best.file), "utf8"), key);
    if (text === undefined) return undefined;
    const parsed = JSON.parse(text) as Partial<ProcessRecord>;
    const { pid: p, startedAt, scriptIndex, attributes } = parsed;
    if (typeof p !== "number" || typeof startedAt !== "number" || typeof scriptIndex !== "number") return undefined;
    if (typeof attributes !== "object" || attributes === null) return undefined;
    return { record: { pid: p, startedAt, scriptIndex, attributes }, file: best.file };
  } catch {
    return undefined;
  }
}

/**
 * Records no report will ever need: those of processes that are gone and left no report. `own` (this
 * process's record) and records some report still refers to stay.
 */
export function pruneProcessRecords(dir: string, own: string | undefined, alive: (pid: number) => boolean = isAlive): void {
  const reportPids = new Set(listReports(dir).map(reportPid));
  for (const file of safeList(dir)) {
    const match = ATTRIBUTES_NAME.exec(file);
    if (!match || join(dir, file) === own) continue;
    const pid = Number(match[1]);
    // A record of our own pid that is not ours is a former process's (containers start every run as pid 1).
    if (reportPids.has(pid) || (pid !== process.pid && alive(pid))) continue;
    rmSync(join(dir, file), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
