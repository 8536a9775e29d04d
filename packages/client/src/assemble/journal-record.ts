// A captured report as a journal line (JSON-safe, cheap to make) and back: what lets a report outlive a kill -9.
import { BacktraceReport, internalReport, type ErrorType, type LogLine, type ReportSender } from "../capture/report.js";
import { unchangedBreadcrumb, type Breadcrumb } from "../capture/breadcrumbs.js";
import type { WireThread } from "../body.js";
import { resolveLimits, toSafeJson } from "../serialize/safe-json.js";
import { RecordJson, type RecordPart } from "../spool/journal-format.js";

/** How deep a cause chain is kept in a journal line. */
const MAX_CAUSES = 5;
/** Bounds of what a journal line keeps of the application's values: those of a report body. */
const LIMITS = resolveLimits({ maxDepth: 8, maxStringLength: 8192, maxItems: 200, maxKeys: 200 });
/** Bounds of the extra threads kept (wire threads the library made: a native stack of a few dozen frames). */
const THREAD_LIMITS = resolveLimits({ maxDepth: 5, maxStringLength: 1024, maxItems: 1000, maxKeys: 50 });

interface ThrownRecord {
  name: string;
  message: string;
  stack: string | undefined;
  /** Own fields such as code and errno. */
  extra: unknown;
  cause: ThrownRecord | undefined;
  /** Set when the thrown value was not an Error: it is kept as JSON-safe data. */
  value?: unknown;
}

export interface JournalRecord {
  t: number;
  k: ErrorType;
  e?: ThrownRecord;
  m?: string;
  s?: string;
  a: unknown;
  n: unknown;
  l: LogLine[];
  f: string[];
  d: Array<{ name: string; data: string }>;
  b?: { entries: Breadcrumb[]; dropped: number };
  /** Duplicates merged into it so far (see `duplicatesPatch`). */
  c?: { count: number; first: number; last: number };
  /** The classifier when it is not the error's type (a worker out of memory, a fatal error's report). */
  x?: string;
  /** The thread the report is about, when it is not the one that built it. */
  h?: { id: string; name: string };
  /** Threads sent besides the faulting one (a fatal error's native stack). */
  w?: unknown;
}

/** The journal's patch for a report that stands for more occurrences now: the next start sends the count too. */
export function duplicatesPatch(report: BacktraceReport): () => Record<string, unknown> {
  return () => ({ c: report.duplicates });
}

/**
 * An object this file or the report made (a literal: attributes, annotations, an error's own fields) made JSON-safe;
 * an empty one, the usual case, is {} at once, as toSafeJson would give it.
 */
function safeFields(fields: Record<string, unknown>): unknown {
  return Object.keys(fields).length === 0 && !("toJSON" in fields) ? {} : toSafeJson(fields, LIMITS);
}

function thrownRecord(value: unknown, depth: number): ThrownRecord | undefined {
  if (depth > MAX_CAUSES) return undefined;
  if (!(value instanceof Error)) return { name: "", message: "", stack: undefined, extra: undefined, cause: undefined, value: toSafeJson(value, LIMITS) };
  const extra: Record<string, unknown> = {};
  for (const key of Object.keys(value)) if (key !== "cause" && key !== "stack" && key !== "message") extra[key] = (value as unknown as Record<string, unknown>)[key];
  return {
    name: String(value.name),
    message: String(value.message),
    stack: typeof value.stack === "string" ? value.stack : undefined,
    extra: safeFields(extra),
    cause: "cause" in value ? thrownRecord(value.cause, depth + 1) : undefined,
  };
}

/** What the journal keeps of a report: everything its body is built from, read now. May throw (the journal skips it). */
export function journalRecord(report: BacktraceReport, withBreadcrumbs = true): JournalRecord {
  const record: JournalRecord = {
    t: report.timestamp,
    k: report.errorType,
    a: safeFields(report.layeredAttributes()),
    n: safeFields(report.getAnnotations()),
    l: report.logLines.map((line) => ({ ts: line.ts, msg: toSafeJson(line.msg, LIMITS) })),
    f: report.getAttachments(),
    d: report.dataAttachments.map((a) => ({ name: a.name, data: a.data.toString("base64") })),
  };
  const thrown = report.hasError ? thrownRecord(report.error, 0) : undefined;
  if (thrown) record.e = thrown;
  if (report.message !== undefined) record.m = report.message;
  const stack = report.callSite?.stack;
  if (typeof stack === "string") record.s = stack;
  if (report.breadcrumbs && withBreadcrumbs) record.b = report.breadcrumbs;
  if (report.duplicates) record.c = { ...report.duplicates };
  if (report.classifier !== undefined) record.x = report.classifier;
  if (report.thread) record.h = { id: report.thread.id, name: report.thread.name };
  if (report.extraThreads) record.w = toSafeJson(report.extraThreads, THREAD_LIMITS);
  return record;
}

/** A breadcrumb's journal part (journal-format.ts: its key, and its text as recorded: the journal stays in the spool), with the fields it was made from. */
interface CrumbJson {
  of: Breadcrumb;
  part: RecordPart;
}

/**
 * Each breadcrumb's text, made once: entries are not changed once recorded, and each capture made while one is in
 * the ring holds it (a storm of captures, the same hundred in each). Made again, under a new key, when a field no
 * longer holds what it was made from.
 */
const crumbJsons = new WeakMap<Breadcrumb, CrumbJson>();
let crumbKeys = 0;

function crumbJson(crumb: Breadcrumb): RecordPart {
  const known = crumbJsons.get(crumb);
  if (known !== undefined && unchangedBreadcrumb(known.of, crumb)) return known.part;
  const part = { key: `c${(++crumbKeys).toString(36)}`, json: JSON.stringify(crumb) };
  crumbJsons.set(crumb, { of: { ...crumb }, part });
  return part;
}

/** The last breadcrumbs' parts and their keys as JSON: the next capture with the same entries (a storm between two log lines) takes them. */
let lastEntries: { parts: RecordPart[]; keys: string } | undefined;

function entryParts(entries: readonly Breadcrumb[]): { parts: RecordPart[]; keys: string } {
  const parts = entries.map(crumbJson);
  const last = lastEntries;
  if (last !== undefined && last.parts.length === parts.length && last.parts.every((part, i) => part === parts[i])) return last;
  return (lastEntries = { parts, keys: parts.map((part) => JSON.stringify(part.key)).join(",") });
}

/**
 * The journal's record of a report as its JSON text: `journalRecord`'s, with the breadcrumbs as the keys of their
 * journal parts (each entry's text is written once per journal file, not in every capture's line), in order; the
 * same record once restored. May throw (the journal skips it).
 */
export function journalRecordJson(report: BacktraceReport): RecordJson {
  const rest = JSON.stringify(journalRecord(report, false));
  const crumbs = report.breadcrumbs;
  if (!crumbs) return new RecordJson(rest);
  const { parts, keys } = entryParts(crumbs.entries);
  return new RecordJson(`${rest.slice(0, -1)},"b":{"entries":[${keys}],"dropped":${JSON.stringify(crumbs.dropped)}}}`, parts);
}

/** A record's breadcrumbs as the report had them: entries given by their part's key taken from `parts`; one not there is counted dropped. */
function restoredBreadcrumbs(b: { entries: unknown[]; dropped?: unknown }, parts: ReadonlyMap<string, unknown> | undefined): { entries: Breadcrumb[]; dropped: number } {
  const entries: Breadcrumb[] = [];
  let dropped = typeof b.dropped === "number" ? b.dropped : 0;
  for (const entry of b.entries) {
    const crumb = typeof entry === "string" ? parts?.get(entry) : entry;
    if (typeof crumb === "object" && crumb !== null && typeof (crumb as Breadcrumb).message === "string") entries.push(crumb as Breadcrumb);
    else dropped += 1;
  }
  return { entries, dropped };
}

function rebuildThrown(record: ThrownRecord): unknown {
  if ("value" in record) return record.value;
  const error = new Error(record.message);
  Object.defineProperty(error, "name", { value: record.name, configurable: true, writable: true });
  if (record.extra && typeof record.extra === "object") Object.assign(error, record.extra);
  if (record.stack !== undefined) error.stack = record.stack;
  else delete (error as { stack?: string }).stack;
  if (record.cause) (error as { cause?: unknown }).cause = rebuildThrown(record.cause);
  return error;
}

/**
 * The report a journal line stands for, with its own uuid and time, for `sender` to send again; undefined when
 * the line is not a report's. The attributes and annotations it had when captured come with it; breadcrumbs given by
 * their part's key are taken from `parts` (its journal's).
 */
export function restoreReport(uuid: string, value: unknown, sender: ReportSender, parts?: ReadonlyMap<string, unknown>): BacktraceReport | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Partial<JournalRecord>;
  if (typeof record.t !== "number" || typeof record.k !== "string") return undefined;
  const report = internalReport(sender);
  // The uuid and the time are the captured report's: a server drops a second copy by its uuid.
  Object.defineProperty(report, "uuid", { value: uuid, enumerable: true });
  Object.defineProperty(report, "timestamp", { value: record.t, enumerable: true });
  if (record.e) report.setException(rebuildThrown(record.e), record.k);
  else report.errorType = record.k;
  if (typeof record.m === "string") report.message = record.m;
  if (typeof record.s === "string") report.callSite = { stack: record.s };
  if (record.a && typeof record.a === "object") report.setDictAttributes(record.a as Record<string, unknown>);
  if (record.n && typeof record.n === "object") report.setDictAnnotations(record.n as Record<string, unknown>);
  for (const line of Array.isArray(record.l) ? record.l : []) report.logLines.push(line);
  for (const path of Array.isArray(record.f) ? record.f : []) if (typeof path === "string") report.addAttachment(path);
  for (const data of Array.isArray(record.d) ? record.d : []) {
    if (typeof data?.name === "string" && typeof data.data === "string") report.addAttachment(data.name, Buffer.from(data.data, "base64"));
  }
  if (record.b && Array.isArray(record.b.entries)) report.breadcrumbs = restoredBreadcrumbs(record.b, parts);
  const c = record.c;
  if (c && Number.isSafeInteger(c.count) && c.count > 1 && typeof c.first === "number" && typeof c.last === "number") {
    report.duplicates = { count: c.count, first: c.first, last: c.last };
  }
  if (typeof record.x === "string") report.classifier = record.x;
  const h = record.h;
  if (h && typeof h.id === "string" && typeof h.name === "string") report.thread = { id: h.id, name: h.name };
  const threads = wireThreads(record.w);
  if (threads) report.extraThreads = threads;
  return report;
}

/** Extra threads read back: only entries shaped as wire threads (a name, a fault flag, frames with a function name). */
function wireThreads(value: unknown): Record<string, WireThread> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const threads: Record<string, WireThread> = {};
  for (const [id, thread] of Object.entries(value as Record<string, unknown>)) {
    const t = thread as Partial<WireThread> | null;
    if (typeof t !== "object" || t === null || typeof t.name !== "string" || typeof t.fault !== "boolean" || !Array.isArray(t.stack)) continue;
    const stack = t.stack.filter((frame): frame is WireThread["stack"][number] => typeof frame === "object" && frame !== null && typeof (frame as { funcName?: unknown }).funcName === "string");
    threads[id] = { name: t.name, fault: t.fault, stack };
  }
  return Object.keys(threads).length > 0 ? threads : undefined;
}
