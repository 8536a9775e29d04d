// Collects the source lines around each frame, merged into one sourceCode entry per file, cached.
import { readFileSync as fsReadFileSync } from "node:fs";
import type { SourceCodeEntry } from "../body.js";
import { hasRealFile, type StackFrame } from "../capture/stack.js";
import { lazyFsPromises } from "../builtins.js";
import { Lru } from "./lru.js";
import { PlaceResults } from "./place-results.js";

export interface SourceReaderOptions {
  /** Files kept in memory. */
  maxFiles?: number;
  /** Characters kept in memory over all cached files. */
  maxBytes?: number;
  /** Files larger than this are not read (characters). */
  maxFileBytes?: number;
  /** Lines longer than this are cut (minified code would otherwise send whole bundles). */
  maxLineLength?: number;
  /** Reads a file as UTF-8 text; for `collect`. */
  readFile?: (path: string) => Promise<string>;
  /** Reads a file as UTF-8 text synchronously; for `collectSync` (the crash path). */
  readFileSync?: (path: string) => string;
  /** Rewrites one line in place (secrets hidden) when a file is read; run once per file, the result cached. */
  redactLine?: (line: string) => string;
}

export interface CollectOptions {
  /** Lines shown above and below each frame's line. */
  contextLineCount: number;
  /** Spaces per tab, passed on to the viewer. */
  tabWidth: number;
}

export interface CollectedSource {
  /**
   * For each frame, the id of its entry: the file path for every frame in a real file, even
   * when the file could not be read or is not a script (the entry is then missing and the id dangles, as the
   * Python client does and the format allows); undefined for node:, native and eval-text frames.
   */
  frameIds: (string | undefined)[];
  sourceCode: Record<string, SourceCodeEntry>;
}

export interface SourceReader {
  collect(frames: readonly StackFrame[], options: CollectOptions): Promise<CollectedSource>;
  /** What `collect` would give, when every file it needs is in memory already: made now; undefined when one must be read. */
  collectKnown(frames: readonly StackFrame[], options: CollectOptions): CollectedSource | undefined;
  /** The same, reading files synchronously: only for the crash path. */
  collectSync(frames: readonly StackFrame[], options: CollectOptions): CollectedSource;
}

const DEFAULTS = {
  maxFiles: 100, // distinct files of recent reports
  maxBytes: 16 * 1024 * 1024, // bounds memory whatever the file sizes
  maxFileBytes: 8 * 1024 * 1024, // a bigger file is almost surely generated, not worth sending
  maxLineLength: 1000, // keeps a minified line from filling the report
};

/** A file's lines, or null when it could not be read (cached too, so it is not retried each report). */
type Lines = string[] | null;

export function createSourceReader(options: SourceReaderOptions = {}): SourceReader {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const readFile = options.readFile ?? ((path: string) => lazyFsPromises().readFile(path, "utf8"));
  const readFileSync = options.readFileSync ?? ((path: string) => fsReadFileSync(path, "utf8"));
  // Files by path, bounded in count and in characters; the file just read is always kept.
  const cache = new Lru<string, { lines: Lines; size: number }>(settings.maxFiles, settings.maxBytes, (file) => file.size);
  const redactLine = options.redactLine;
  // The lines of recent source-map sources (the mapper keeps each map's strings, so keys repeat as the same strings).
  const originals = new Map<string, string[]>();
  // Counts every change to the lines known (a file read or let go, a source added): a place's result holds while it stays.
  let generation = 0;
  const places = new PlaceResults<CollectedSource>();

  /** A text's lines, each redacted where it stands: the count and order of lines never change. */
  function splitLines(text: string): string[] {
    const lines = text.split(/\r?\n/);
    if (redactLine) for (let i = 0; i < lines.length; i++) lines[i] = redactLine(lines[i]!);
    return lines;
  }

  function originalLines(text: string): string[] {
    let lines = originals.get(text);
    if (lines === undefined) {
      generation += 1;
      if (originals.size >= ORIGINALS_KEPT) originals.delete(originals.keys().next().value as string);
      originals.set(text, (lines = splitLines(text)));
    }
    return lines;
  }

  function remember(path: string, text: string | null): Lines {
    const tooBig = text !== null && text.length > settings.maxFileBytes;
    const lines = text === null || tooBig ? null : splitLines(text);
    generation += 1;
    cache.set(path, { lines, size: text === null || tooBig ? 0 : text.length });
    return lines;
  }

  function cached(path: string): Lines | undefined {
    return cache.get(path)?.lines;
  }

  /** The result made for the same frames and options while no lines changed, or undefined. */
  function known(frames: readonly StackFrame[], opts: CollectOptions): CollectedSource | undefined {
    return places.get(frames, `${opts.contextLineCount}:${opts.tabWidth}`, generation);
  }

  /** Keeps a result for the place (frozen frames only), frozen: reports from the place share it. */
  function keep(frames: readonly StackFrame[], opts: CollectOptions, result: CollectedSource): CollectedSource {
    Object.freeze(result.frameIds);
    Object.freeze(result.sourceCode);
    places.set(frames, `${opts.contextLineCount}:${opts.tabWidth}`, generation, result);
    return result;
  }

  function collectKnown(frames: readonly StackFrame[], opts: CollectOptions): CollectedSource | undefined {
    const hit = known(frames, opts);
    if (hit !== undefined) return hit;
    const plan = planRanges(frames, opts);
    const texts = new Map<string, Lines>();
    // Reports from places seen before find every file in memory: no promise per file.
    for (const path of plan.ranges.keys()) {
      const original = plan.originals.get(path);
      const lines = original !== undefined ? originalLines(original) : cached(path);
      if (lines === undefined) return undefined;
      texts.set(path, lines);
    }
    // Every file known already: the next report from the place takes this result as it is.
    return keep(frames, opts, build(plan, texts, opts, settings.maxLineLength));
  }

  async function collect(frames: readonly StackFrame[], opts: CollectOptions): Promise<CollectedSource> {
    const now = collectKnown(frames, opts);
    if (now !== undefined) return now;
    const plan = planRanges(frames, opts);
    const texts = new Map<string, Lines>();
    await Promise.all(
      [...plan.ranges.keys()].map(async (path) => {
        const original = plan.originals.get(path);
        if (original !== undefined) return texts.set(path, originalLines(original));
        let lines = cached(path);
        if (lines === undefined) {
          let text: string | null;
          try {
            text = await readFile(path);
          } catch {
            text = null;
          }
          lines = remember(path, text);
        }
        texts.set(path, lines);
      }),
    );
    return build(plan, texts, opts, settings.maxLineLength);
  }

  function collectSync(frames: readonly StackFrame[], opts: CollectOptions): CollectedSource {
    const hit = known(frames, opts);
    if (hit !== undefined) return hit;
    const start = generation;
    const plan = planRanges(frames, opts);
    const texts = new Map<string, Lines>();
    for (const path of plan.ranges.keys()) {
      const original = plan.originals.get(path);
      if (original !== undefined) {
        texts.set(path, originalLines(original));
        continue;
      }
      let lines = cached(path);
      if (lines === undefined) {
        let text: string | null;
        try {
          text = readFileSync(path);
        } catch {
          text = null;
        }
        lines = remember(path, text);
      }
      texts.set(path, lines);
    }
    const result = build(plan, texts, opts, settings.maxLineLength);
    // A file read now changed the lines known: kept once a report from the place finds them all known.
    return generation === start ? keep(frames, opts, result) : result;
  }

  return { collect, collectKnown, collectSync };
}

interface Plan {
  frameIds: (string | undefined)[];
  /** Per file, the first and last line wanted (1-based, not yet clamped to the file). */
  ranges: Map<string, { first: number; last: number }>;
  /** Per file, the source text a source map carried; used instead of reading the file. */
  originals: Map<string, string>;
}

function planRanges(frames: readonly StackFrame[], opts: CollectOptions): Plan {
  const context = Math.max(0, Math.floor(opts.contextLineCount));
  const plan: Plan = { frameIds: [], ranges: new Map(), originals: new Map() };
  for (const frame of frames) {
    if (!hasRealFile(frame)) {
      plan.frameIds.push(undefined);
      continue;
    }
    const path = frame.file;
    plan.frameIds.push(path);
    if (frame.line === undefined || !mayRead(frame, path)) continue;
    if (frame.originalSource !== undefined && !plan.originals.has(path)) plan.originals.set(path, frame.originalSource);
    const first = frame.line - context;
    const last = frame.line + context;
    const range = plan.ranges.get(path);
    if (range === undefined) plan.ranges.set(path, { first, last });
    else {
      range.first = Math.min(range.first, first);
      range.last = Math.max(range.last, last);
    }
  }
  return plan;
}

// Script files only: a stack string can come from anywhere (any error-like object), and a frame
// naming /etc/passwd or .env must not make the client upload that file.
const SCRIPT_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/i;

/** A script file, or an original source named by a source map (which may be .vue, .svelte, ...). */
function mayRead(frame: StackFrame, path: string): boolean {
  return SCRIPT_FILE.test(path) || frame.originalSource !== undefined || frame.generated !== undefined;
}

/** Source-map sources whose lines each reader keeps. */
const ORIGINALS_KEPT = 32;

/**
 * Recent entries made from each file's lines. Reports from the same place share one frozen entry,
 * so that neither its text nor its serialized form (see serialize.ts) is made again for each report.
 */
const entries = new WeakMap<readonly string[], Map<string, Readonly<SourceCodeEntry>>>();
const ENTRIES_PER_FILE = 16;

function entry(path: string, lines: readonly string[], first: number, last: number, maxLineLength: number, tabWidth: number): SourceCodeEntry {
  const key = `${first}:${last}:${maxLineLength}:${tabWidth}:${path}`;
  let known = entries.get(lines);
  const hit = known?.get(key);
  if (hit !== undefined) return hit;
  const text = lines
    .slice(first - 1, last)
    .map((line) => (line.length > maxLineLength ? line.slice(0, maxLineLength) + "…" : line))
    .join("\n");
  // An excerpt that reaches the end of a file ending in a newline keeps that newline, as backtracepython's does.
  const tail = last < lines.length && last === lines.length - 1 && lines[last] === "" ? "\n" : "";
  const made = Object.freeze({ text: text + tail, startLine: first, startColumn: 1, path, tabWidth });
  if (!known) entries.set(lines, (known = new Map()));
  if (known.size >= ENTRIES_PER_FILE) known.delete(known.keys().next().value as string);
  known.set(key, made);
  return made;
}

function build(plan: Plan, texts: ReadonlyMap<string, Lines>, opts: CollectOptions, maxLineLength: number): CollectedSource {
  const sourceCode: Record<string, SourceCodeEntry> = {};
  for (const [path, range] of plan.ranges) {
    const lines = texts.get(path);
    if (lines === undefined || lines === null) continue;
    // A file ending in a newline splits into a last empty "line" that is not a line.
    const count = lines.length > 1 && lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
    const first = Math.max(1, range.first);
    const last = Math.min(count, range.last);
    if (first > last) continue;
    sourceCode[path] = entry(path, lines, first, last, maxLineLength, opts.tabWidth);
  }
  return { frameIds: plan.frameIds, sourceCode };
}

function definedOnly(options: SourceReaderOptions): Partial<typeof DEFAULTS> {
  const out: Partial<typeof DEFAULTS> = {};
  if (options.maxFiles !== undefined) out.maxFiles = Math.max(1, options.maxFiles);
  if (options.maxBytes !== undefined) out.maxBytes = options.maxBytes;
  if (options.maxFileBytes !== undefined) out.maxFileBytes = options.maxFileBytes;
  if (options.maxLineLength !== undefined) out.maxLineLength = options.maxLineLength;
  return out;
}
