// One trim of a parsed report body: the record of what was cut, measuring against the budget, and the plan of stages.
import type { SafeJsonLimits } from "./safe-json.js";

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
export const TRIM_PLAN = {
  sourceRadii: [50, 20, 10, 5, 2, 0], // lines kept on each side of a frame's line
  annotationLevels: [
    { maxDepth: 6, maxStringLength: 2048, maxItems: 100, maxKeys: 100, maxKeyLength: 128, share: 1 / 2 },
    { maxDepth: 4, maxStringLength: 512, maxItems: 20, maxKeys: 40, maxKeyLength: 64, share: 1 / 4 },
    { maxDepth: 2, maxStringLength: 128, maxItems: 5, maxKeys: 10, maxKeyLength: 64, share: 1 / 8 },
  ], // `share`: the annotations' output may take about this part of the budget
  stringCaps: [1024, 256, 64], // characters kept of any string outside source text
  slackBytes: 64, // room left for the trim record's own numbers to grow
} as const;

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function byteLength(text: string): number {
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
export function priorRecord(body: Json): TrimRecord | undefined {
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

export class Trim {
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
export function allFrames(body: Json): Json[] {
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

/** Limits annotations are converted again with in trim step 3. */
export type TightLimits = Omit<SafeJsonLimits, "maxAttributeLength">;

/** Safe conversion with tighter limits; `cuts` is how many cuts it made. Passed in by serialize.ts. */
export type Reconvert = (value: unknown, limits: TightLimits) => { value: unknown; cuts: number };
