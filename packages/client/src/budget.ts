// Trims a parsed report body to a byte budget in a fixed order and marks the cuts in it.

/**
 * Shortens `text` to at most `max` UTF-16 units (never splitting a surrogate pair)
 * and appends a marker saying how many were cut. Unchanged when short enough, or
 * when the marker would make it no shorter.
 */
export function cutString(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, Math.floor(max));
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end -= 1;
  const marker = `...[cut ${text.length - end} chars]`;
  return end + marker.length < text.length ? text.slice(0, end) + marker : text;
}


/** What trimming cut from one report. Written to `annotations["backtrace-ts"].trimmed`. */
export interface TrimRecord {
  budgetBytes: number; // the budget the body was trimmed to
  originalBytes: number; // UTF-8 size of the body before any trimming
  sourceLines: number; // source context lines removed away from frame lines
  sourceEntries: number; // sourceCode entries dropped
  logLines: number; // oldest lines dropped from the Log annotation
  annotationLevel: number; // 0: untouched; 1-3: the tighter limits annotations were converted with
  annotationCuts: number; // cuts that re-conversion made (strings, items, keys, depth)
  strings: number; // strings shortened in attributes, classifiers, frames and annotations
  frames: number; // frames dropped past the first N of a thread
  threads: number; // threads other than the main one dropped (last resort)
  annotationSections: number; // annotation sections dropped (last resort)
  attributes: number; // attributes dropped (last resort)
}

/** Annotation section holding the trim record (merged into an existing plain object). */
export const TRIM_SECTION = "backtrace-ts";
/** Attribute set to true on every trimmed report, so trimmed reports can be searched for. */
export const TRIM_ATTRIBUTE = "report.trimmed";
/** Annotation whose array items are log lines, oldest first. */
export const LOG_ANNOTATION = "Log";

// The fixed trim order and each step's stages, tried in turn until the body fits.
const TRIM_PLAN = {
  sourceRadii: [50, 20, 10, 5, 2, 0], // lines kept on each side of a frame's line
  annotationLevels: [
    { maxDepth: 6, maxStringLength: 2048, maxItems: 100, maxKeys: 100, maxKeyLength: 128, share: 1 / 2 },
    { maxDepth: 4, maxStringLength: 512, maxItems: 20, maxKeys: 40, maxKeyLength: 64, share: 1 / 4 },
    { maxDepth: 2, maxStringLength: 128, maxItems: 5, maxKeys: 10, maxKeyLength: 64, share: 1 / 8 },
  ], // `share`: the annotations' output may take about this part of the budget
  stringCaps: [1024, 256, 64], // characters kept of any string outside source text
  slackBytes: 64, // room left for the trim record's own numbers to grow
} as const;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

export function emptyTrimRecord(budgetBytes: number, originalBytes: number): TrimRecord {
  return {
    budgetBytes,
    originalBytes,
    sourceLines: 0,
    sourceEntries: 0,
    logLines: 0,
    annotationLevel: 0,
    annotationCuts: 0,
    strings: 0,
    frames: 0,
    threads: 0,
    annotationSections: 0,
    attributes: 0,
  };
}

/** Reads a trim record left in a body by an earlier trim, so a second trim adds to it. */
function priorRecord(body: Json): TrimRecord | undefined {
  const annotations = body["annotations"];
  const section = isRecord(annotations) ? annotations[TRIM_SECTION] : undefined;
  const trimmed = isRecord(section) ? section["trimmed"] : undefined;
  if (!isRecord(trimmed)) return undefined;
  const out = emptyTrimRecord(0, 0);
  for (const key of Object.keys(out) as (keyof TrimRecord)[]) {
    const value = trimmed[key];
    if (typeof value === "number" && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

class Trim {
  json = "";
  bytes = 0;

  constructor(
    readonly body: Json,
    readonly budget: number,
    readonly record: TrimRecord,
    private readonly prior: TrimRecord | undefined,
    readonly reconvert: Reconvert,
  ) {}

  /** Bytes to free, with room for the record's numbers to grow. */
  get need(): number {
    return this.bytes - this.budget + TRIM_PLAN.slackBytes;
  }

  /** Writes the record into the body, serializes it, and says whether it fits. */
  measure(): boolean {
    const body = this.body;
    if (!isRecord(body["attributes"])) body["attributes"] = {};
    (body["attributes"] as Json)[TRIM_ATTRIBUTE] = true;
    if (!isRecord(body["annotations"])) body["annotations"] = {};
    const annotations = body["annotations"] as Json;
    if (!isRecord(annotations[TRIM_SECTION])) annotations[TRIM_SECTION] = {};
    (annotations[TRIM_SECTION] as Json)["trimmed"] = this.combined();
    this.json = JSON.stringify(body);
    this.bytes = byteLength(this.json);
    return this.bytes <= this.budget;
  }

  combined(): TrimRecord {
    const out = { ...this.record };
    const prior = this.prior;
    if (prior === undefined) return out;
    for (const key of Object.keys(out) as (keyof TrimRecord)[]) {
      if (key === "budgetBytes") continue;
      if (key === "originalBytes" && prior.originalBytes > 0) out.originalBytes = prior.originalBytes;
      else if (key === "annotationLevel") out.annotationLevel = Math.max(out.annotationLevel, prior.annotationLevel);
      else if (key !== "originalBytes") out[key] += prior[key];
    }
    return out;
  }
}

/** Frames of every thread, the main thread first. */
function allFrames(body: Json): Json[] {
  const threads = body["threads"];
  if (!isRecord(threads)) return [];
  const main = body["mainThread"];
  const keys = Object.keys(threads);
  const ordered = typeof main === "string" && keys.includes(main) ? [main, ...keys.filter((k) => k !== main)] : keys;
  const out: Json[] = [];
  for (const key of ordered) {
    const thread = threads[key];
    const stack = isRecord(thread) ? thread["stack"] : undefined;
    if (Array.isArray(stack)) for (const frame of stack) if (isRecord(frame)) out.push(frame);
  }
  return out;
}

interface SourceInfo {
  id: string;
  entry: Json;
  lines: string[];
  startLine: number;
  frameLines: number[]; // indexes into lines
  rank: number; // position of the first frame using it; lower is more important
}

function sourceInfos(body: Json): SourceInfo[] {
  const sources = body["sourceCode"];
  if (!isRecord(sources)) return [];
  const byId = new Map<string, { lines: number[]; rank: number }>();
  allFrames(body).forEach((frame, index) => {
    const id = frame["sourceCode"];
    if (typeof id !== "string") return;
    const seen = byId.get(id) ?? { lines: [], rank: index };
    const line = Number(frame["line"]);
    if (Number.isInteger(line) && line >= 1) seen.lines.push(line);
    byId.set(id, seen);
  });
  const out: SourceInfo[] = [];
  for (const [id, entry] of Object.entries(sources)) {
    if (!isRecord(entry)) continue;
    const text = entry["text"];
    const startLine = Number(entry["startLine"]);
    const seen = byId.get(id);
    const lines = typeof text === "string" ? text.split("\n") : [];
    const start = Number.isInteger(startLine) && startLine >= 1 ? startLine : 1;
    const frameLines = (seen?.lines ?? []).map((l) => l - start).filter((i) => i >= 0 && i < lines.length);
    out.push({ id, entry, lines, startLine: start, frameLines, rank: seen?.rank ?? Infinity });
  }
  return out;
}

/** Keeps `radius` lines around each frame line; gaps between kept ranges collapse to one marker line. */
function narrowEntry(info: SourceInfo, radius: number): { text: string; startLine: number; kept: number } {
  const last = info.lines.length - 1;
  const centres = info.frameLines.length > 0 ? [...new Set(info.frameLines)].sort((a, b) => a - b) : [radius];
  const ranges: [number, number][] = [];
  for (const centre of centres) {
    const from = Math.max(0, centre - radius);
    const to = Math.min(last, centre + radius);
    const prev = ranges[ranges.length - 1];
    if (prev !== undefined && from <= prev[1] + 1) prev[1] = Math.max(prev[1], to);
    else ranges.push([from, to]);
  }
  const first = ranges[0]?.[0] ?? 0;
  const out: string[] = [];
  let kept = 0;
  let previousEnd = first - 1;
  for (const [from, to] of ranges) {
    // a gap keeps its line count so frame line numbers still point at the right lines
    for (let i = previousEnd + 1; i < from; i += 1) out.push(i === previousEnd + 1 ? `[${from - i} lines cut]` : "");
    for (let i = from; i <= to; i += 1) out.push(info.lines[i] as string);
    kept += to - from + 1;
    previousEnd = to;
  }
  return { text: out.join("\n"), startLine: info.startLine + first, kept };
}

/** Step 1a: shrink each source entry to fewer lines around its frames' lines. */
function narrowSource(trim: Trim): boolean {
  const infos = sourceInfos(trim.body).filter((info) => info.lines.length > 1);
  const base = trim.record.sourceLines;
  let current = infos.map((info) => info.lines.length);
  const sourceBytes = (): number => byteLength(JSON.stringify(trim.body["sourceCode"]));
  let before = sourceBytes();
  for (const radius of TRIM_PLAN.sourceRadii) {
    let removed = 0;
    let changed = false;
    const next = infos.map((info, i) => {
      const narrowed = narrowEntry(info, radius);
      removed += info.lines.length - narrowed.kept;
      if (narrowed.kept < (current[i] as number)) {
        changed = true;
        info.entry["text"] = narrowed.text;
        info.entry["startLine"] = narrowed.startLine;
      }
      return Math.min(narrowed.kept, current[i] as number);
    });
    current = next;
    if (!changed) continue;
    trim.record.sourceLines = base + removed;
    // serializing only the source map tells whether a full measure can succeed
    const after = sourceBytes();
    trim.bytes += after - before;
    before = after;
    if (trim.bytes <= trim.budget && trim.measure()) return true;
  }
  return false;
}

/** Step 1b: drop source entries, the ones no frame or only deep frames use first. */
function dropSource(trim: Trim): boolean {
  const sources = trim.body["sourceCode"];
  if (!isRecord(sources)) return false;
  const order = sourceInfos(trim.body)
    .map((info, index) => ({ id: info.id, rank: info.rank, index }))
    .sort((a, b) => b.rank - a.rank || b.index - a.index);
  let at = 0;
  while (at < order.length) {
    let freed = 0;
    const need = trim.need;
    while (at < order.length && freed < need) {
      const id = (order[at] as { id: string }).id;
      freed += byteLength(JSON.stringify(id)) + byteLength(JSON.stringify(sources[id]) ?? "") + 2;
      delete sources[id];
      trim.record.sourceEntries += 1;
      at += 1;
    }
    if (trim.measure()) return true;
  }
  return false;
}

/** Step 2: drop the oldest lines of the Log annotation. */
function dropLogLines(trim: Trim): boolean {
  const annotations = trim.body["annotations"];
  const log = isRecord(annotations) ? annotations[LOG_ANNOTATION] : undefined;
  if (!Array.isArray(log)) return false;
  while (log.length > 0) {
    let freed = 0;
    let cut = 0;
    const need = trim.need;
    while (cut < log.length && freed < need) {
      freed += byteLength(JSON.stringify(log[cut]) ?? "null") + 1;
      cut += 1;
    }
    log.splice(0, cut);
    trim.record.logLines += cut;
    if (trim.measure()) return true;
  }
  return false;
}

/** Step 3: convert the annotations again with tighter depth, size and length limits. */
function tightenAnnotations(trim: Trim): boolean {
  const original = trim.body["annotations"];
  if (!isRecord(original)) return false;
  for (const [index, level] of TRIM_PLAN.annotationLevels.entries()) {
    const { share, ...limits } = level;
    const maxOutputLength = Math.max(256, Math.floor(trim.budget * share));
    const converted = trim.reconvert(original, { ...limits, maxOutputLength });
    if (converted.cuts === 0 || !isRecord(converted.value)) continue;
    trim.body["annotations"] = converted.value;
    trim.record.annotationLevel = index + 1;
    trim.record.annotationCuts = converted.cuts;
    if (trim.measure()) return true;
  }
  return false;
}

/** Shortens every string (and key) in plain JSON data to `cap`; returns how many it cut. */
function shortenDeep(value: unknown, cap: number, depth = 0): { value: unknown; cuts: number } {
  if (typeof value === "string") {
    const out = cutString(value, cap);
    return { value: out, cuts: out === value ? 0 : 1 };
  }
  if (typeof value !== "object" || value === null || depth > 64) return { value, cuts: 0 };
  let cuts = 0;
  if (Array.isArray(value)) {
    const out = value.map((item: unknown) => {
      const r = shortenDeep(item, cap, depth + 1);
      cuts += r.cuts;
      return r.value;
    });
    return { value: cuts === 0 ? value : out, cuts };
  }
  const out: Json = {};
  for (const [key, item] of Object.entries(value as Json)) {
    const r = shortenDeep(item, cap, depth + 1);
    const shortKey = cutString(key, cap);
    cuts += r.cuts + (shortKey === key ? 0 : 1);
    if (!(shortKey in out)) Object.defineProperty(out, shortKey, { value: r.value, enumerable: true, writable: true, configurable: true });
  }
  return { value: cuts === 0 ? value : out, cuts };
}

/** Shortens strings (and keys) outside source text to `cap` characters; returns how many it cut. */
function shortenAll(body: Json, cap: number): number {
  let cuts = 0;
  for (const key of ["attributes", "classifiers", "annotations"]) {
    if (!(key in body)) continue;
    const r = shortenDeep(body[key], cap);
    body[key] = r.value;
    cuts += r.cuts;
  }
  const threads = body["threads"];
  for (const thread of isRecord(threads) ? Object.values(threads) : []) {
    if (!isRecord(thread)) continue;
    for (const [key, value] of Object.entries(thread)) {
      if (key === "stack") continue;
      const r = shortenDeep(value, cap);
      thread[key] = r.value;
      cuts += r.cuts;
    }
  }
  for (const frame of allFrames(body)) {
    for (const [key, value] of Object.entries(frame)) {
      if (typeof value !== "string" || key === "sourceCode") continue;
      const out = cutString(value, cap);
      if (out !== value) {
        frame[key] = out;
        cuts += 1;
      }
    }
  }
  return cuts;
}

/**
 * Step 0: a single string bigger than an eighth of the budget is cut to that size before the
 * fixed order starts, so that one huge value does not cost the report all its source and log.
 */
function capOversized(trim: Trim): boolean {
  const cuts = shortenAll(trim.body, Math.max(TRIM_PLAN.stringCaps[0], Math.floor(trim.budget / 8)));
  if (cuts === 0) return false;
  trim.record.strings = cuts;
  return trim.measure();
}

/** Step 4: shorten long strings in attributes, classifiers, threads and annotations. */
function shortenStrings(trim: Trim): boolean {
  const base = trim.record.strings;
  for (const cap of TRIM_PLAN.stringCaps) {
    const cuts = shortenAll(trim.body, cap);
    if (cuts === 0) continue;
    // strings cut at an earlier (larger) cap are cut again here, so this counts each string once
    trim.record.strings = Math.max(base, cuts);
    if (trim.measure()) return true;
  }
  return false;
}

/** Step 5: keep only the first N frames of each thread, N as large as the budget allows. */
function dropFrames(trim: Trim): boolean {
  const threads = trim.body["threads"];
  const stacks: unknown[][] = [];
  for (const thread of isRecord(threads) ? Object.values(threads) : []) {
    if (isRecord(thread) && Array.isArray(thread["stack"]) && thread["stack"].length > 1) stacks.push(thread["stack"]);
  }
  // tails[s][i]: bytes freed by cutting stack s down to its first i frames
  const tails = stacks.map((stack) => {
    const tail = new Array<number>(stack.length + 1).fill(0);
    for (let i = stack.length - 1; i >= 0; i -= 1) tail[i] = (tail[i + 1] as number) + byteLength(JSON.stringify(stack[i]) ?? "") + 1;
    return tail;
  });
  let keep = Math.max(0, ...stacks.map((stack) => stack.length));
  while (keep > 1) {
    const need = trim.need;
    do keep -= 1;
    while (keep > 1 && tails.reduce((sum, tail) => sum + (tail[keep] ?? 0), 0) < need);
    for (const stack of stacks) {
      if (stack.length <= keep) continue;
      trim.record.frames += stack.length - keep;
      stack.length = keep;
    }
    if (trim.measure()) return true;
  }
  return false;
}

/** Last resort: only the main thread, no annotations but the record, then fewer attributes. */
function lastResort(trim: Trim): boolean {
  const body = trim.body;
  const threads = body["threads"];
  if (isRecord(threads)) {
    const keys = Object.keys(threads);
    const main = typeof body["mainThread"] === "string" && keys.includes(body["mainThread"]) ? body["mainThread"] : keys[0];
    if (keys.length > 1 && main !== undefined) {
      body["threads"] = { [main]: threads[main] };
      trim.record.threads += keys.length - 1;
      if (trim.measure()) return true;
    }
  }
  const annotations = body["annotations"];
  if (isRecord(annotations)) {
    const others = Object.keys(annotations).filter((k) => k !== TRIM_SECTION).length;
    body["annotations"] = {};
    trim.record.annotationSections += others;
    if (trim.measure()) return true;
  }
  const attributes = body["attributes"];
  if (isRecord(attributes)) {
    let keys = Object.keys(attributes).filter((k) => k !== TRIM_ATTRIBUTE);
    while (keys.length > 0) {
      const keep = Math.floor(keys.length / 2);
      for (const key of keys.slice(keep)) delete attributes[key];
      trim.record.attributes += keys.length - keep;
      keys = keys.slice(0, keep);
      if (trim.measure()) return true;
    }
  }
  return false;
}

const STEPS = [capOversized, narrowSource, dropSource, dropLogLines, tightenAnnotations, shortenStrings, dropFrames, lastResort];

/** Limits annotations are converted again with in trim step 3. */
export interface TightLimits {
  maxDepth: number;
  maxStringLength: number;
  maxItems: number;
  maxKeys: number;
  maxKeyLength: number;
  maxOutputLength: number;
}

/** Safe conversion with tighter limits; `cuts` is how many cuts it made. Passed in by serialize.ts. */
export type Reconvert = (value: unknown, limits: TightLimits) => { value: unknown; cuts: number };

export interface FitResult {
  json: string;
  bytes: number;
  record: TrimRecord; // what was cut, added to any record an earlier trim left in the body
}

/**
 * Trims a parsed body (mutating it) in the fixed order until its JSON fits `budget`
 * bytes or every step has run; `bytes` tells which.
 */
export function fitBody(body: Record<string, unknown>, budget: number, originalBytes: number, reconvert: Reconvert): FitResult {
  const trim = new Trim(body, budget, emptyTrimRecord(budget, originalBytes), priorRecord(body), reconvert);
  let fits = trim.measure();
  for (const step of STEPS) if (!fits) fits = step(trim);
  if (!fits) trim.measure(); // a step may have stopped on a predicted size
  return { json: trim.json, bytes: trim.bytes, record: trim.combined() };
}

