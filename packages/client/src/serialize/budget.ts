// Trims a parsed report body to a byte budget in a fixed order and marks the cuts in it.
import { cutString } from "./safe-json.js";
import { dropSource, narrowSource } from "./trim-source.js";
import {
  allFrames,
  byteLength,
  emptyTrimRecord,
  isRecord,
  LOG_ANNOTATION,
  priorRecord,
  Trim,
  TRIM_ATTRIBUTE,
  TRIM_PLAN,
  TRIM_SECTION,
  type Json,
  type Reconvert,
  type TrimRecord,
} from "./trim.js";


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

