// Maps frames of compiled files back to their original sources through source maps, cached.
import { errorText } from "../errors.js";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FlattenMap, LEAST_UPPER_BOUND, TraceMap, generatedPositionFor, originalPositionFor, sourceContentFor } from "@jridgewell/trace-mapping";
import { hasRealFile, type StackFrame } from "../capture/stack.js";
import type { ThrownInfo } from "../capture/thrown.js";
import { fileReads, fileReadsSync, wholeReads, wholeReadsSync, type Reads, type ReadsSync, type Tail } from "./source-map-reads.js";
import { Lru } from "./lru.js";
import { PlaceResults } from "./place-results.js";
import { lineStarts, originalName, type NamedMap } from "./source-map-names.js";
import { createNodeSourceMaps, nodeSourceMapsEnabled } from "./node-source-maps.js";

export interface SourceMapperOptions {
  /** Parsed maps kept in memory. */
  maxMaps?: number;
  /** Map files larger than this (bytes) are skipped. */
  maxMapBytes?: number;
  /**
   * Reads a whole file as UTF-8 text; for `mapFrames`. Given, it replaces the default reads
   * (the tail of a generated file, maps up to `maxMapBytes`), so the size limits are not applied.
   */
  readFile?: (path: string) => Promise<string>;
  /** Reads a whole file as UTF-8 text synchronously; for `mapFramesSync` (the crash path). */
  readFileSync?: (path: string) => string;
  /** Receives one line for each map that could not be used. */
  debug?: (message: string) => void;
}

export interface SourceMapper {
  /** Frames with original file, line, column and name where a map covers them; never rejects. */
  mapFrames(frames: readonly StackFrame[]): Promise<StackFrame[]>;
  /** The same, reading files synchronously: only for the crash path, where nothing async will run. */
  mapFramesSync(frames: readonly StackFrame[]): StackFrame[];
  /** `info` with its frames and the frames of all its causes mapped. */
  mapThrown(info: ThrownInfo): Promise<ThrownInfo>;
  mapThrownSync(info: ThrownInfo): ThrownInfo;
  /**
   * What `mapFrames` / `mapThrown` would give, when every map they need is in memory already (a place seen before):
   * made now, without a promise; undefined when a file would have to be read.
   */
  mapFramesKnown(frames: readonly StackFrame[]): StackFrame[] | undefined;
  mapThrownKnown(info: ThrownInfo): ThrownInfo | undefined;
}

const DEFAULTS = {
  maxMaps: 50, // parsed maps of big bundles can take megabytes each
  maxMisses: 1000, // files known to have no usable map
  maxMapBytes: 32 * 1024 * 1024, // a bigger map would cost more to parse than the report is worth
  tailBytes: 64 * 1024, // where a generated file's trailing sourceMappingURL comment is looked for
  maxGeneratedBytes: 16 * 1024 * 1024, // read whole only for an inline map longer than the tail
};

type Loaded = NamedMap;

/** A file whose map could not be used; cached like a map so the file is not read again. */
const NO_MAP = null;
/** A frame's file that does not exist: with Node's --enable-source-maps, an original source that was not deployed. */
const ABSENT = "absent";
type Miss = typeof NO_MAP | typeof ABSENT;
type Entry = Loaded | Miss;

/** What a generated file says about its map, read from its last `//# sourceMappingURL=` comment. */
type MapReference = { inline: string; url: string } | { path: string; url: string };

const DATA_URL = /^data:application\/json[^,]*?(;base64)?,/;

export function createSourceMapper(options: SourceMapperOptions = {}): SourceMapper {
  const maxMapBytes = options.maxMapBytes ?? DEFAULTS.maxMapBytes;
  const reads: Reads = options.readFile ? wholeReads(options.readFile) : fileReads;
  const readsSync: ReadsSync = options.readFileSync ? wholeReadsSync(options.readFileSync) : fileReadsSync;
  const debug = options.debug ?? (() => {});
  const maps = new Lru<string, Loaded>(Math.max(1, options.maxMaps ?? DEFAULTS.maxMaps));
  const misses = new Lru<string, Miss>(DEFAULTS.maxMisses);
  const nodeMaps = createNodeSourceMaps();
  const pending = new Map<string, Promise<Entry>>();
  // Counts every change to the maps and misses known: a place's mapped frames hold while it stays.
  let generation = 0;
  const places = new PlaceResults<readonly StackFrame[]>();

  function cached(file: string): Entry | undefined {
    return maps.get(file) ?? misses.get(file);
  }

  function remember(file: string, entry: Entry): Entry {
    generation += 1;
    if (entry === NO_MAP || entry === ABSENT) misses.set(file, entry);
    else maps.set(file, entry);
    return entry;
  }

  /**
   * The generated file Node mapped a frame of an absent file from: Node's --enable-source-maps
   * rewrote the frame to an original source that was not deployed, so its map is the generated file's.
   */
  function generatedFor(file: string): string | undefined {
    if (cached(file) !== ABSENT || !nodeSourceMapsEnabled()) return undefined;
    const generated = nodeMaps.generatedFor(file);
    return generated === file ? undefined : generated;
  }

  async function loadAsync(file: string): Promise<Entry> {
    try {
      let tail = await reads.tail(file, DEFAULTS.tailBytes);
      let ref = findReference(file, tail.text);
      if (ref === undefined && mayEndInLongDataUrl(tail)) {
        tail = { text: await reads.whole(file, DEFAULTS.maxGeneratedBytes), whole: true };
        ref = findReference(file, tail.text);
      }
      if (ref === undefined) return NO_MAP;
      const json = "inline" in ref ? ref.inline : await reads.whole(ref.path, maxMapBytes);
      const entry = buildEntry(json, ref.url);
      if (needsText(entry)) {
        try {
          withText(entry, tail.whole ? tail.text : await reads.whole(file, DEFAULTS.maxGeneratedBytes));
        } catch (error) {
          debug(`names for ${file} only from call sites: ${errorText(error)}`);
        }
      }
      return entry;
    } catch (error) {
      debug(`source map for ${file} not used: ${errorText(error)}`);
      return isAbsent(error, file) ? ABSENT : NO_MAP;
    }
  }

  function loadSync(file: string): Entry {
    try {
      let tail = readsSync.tail(file, DEFAULTS.tailBytes);
      let ref = findReference(file, tail.text);
      if (ref === undefined && mayEndInLongDataUrl(tail)) {
        tail = { text: readsSync.whole(file, DEFAULTS.maxGeneratedBytes), whole: true };
        ref = findReference(file, tail.text);
      }
      if (ref === undefined) return NO_MAP;
      const json = "inline" in ref ? ref.inline : readsSync.whole(ref.path, maxMapBytes);
      const entry = buildEntry(json, ref.url);
      if (needsText(entry)) {
        try {
          withText(entry, tail.whole ? tail.text : readsSync.whole(file, DEFAULTS.maxGeneratedBytes));
        } catch (error) {
          debug(`names for ${file} only from call sites: ${errorText(error)}`);
        }
      }
      return entry;
    } catch (error) {
      debug(`source map for ${file} not used: ${errorText(error)}`);
      return isAbsent(error, file) ? ABSENT : NO_MAP;
    }
  }

  function entryAsync(file: string): Promise<Entry> {
    const hit = cached(file);
    if (hit !== undefined) return Promise.resolve(hit);
    let load = pending.get(file);
    if (load === undefined) {
      load = loadAsync(file).then((entry) => {
        pending.delete(file);
        return remember(file, entry);
      });
      pending.set(file, load);
    }
    return load;
  }

  function entrySync(file: string): Entry {
    const hit = cached(file);
    return hit !== undefined ? hit : remember(file, loadSync(file));
  }

  /** True when every file the frames (and causes) need is known: mapping them needs no promise. */
  function allKnown(info: { frames: readonly StackFrame[]; causes?: readonly ThrownInfo[] }): boolean {
    for (const frame of info.frames) {
      if (!mappable(frame)) continue;
      if (cached(frame.file) === undefined) return false;
      const generated = generatedFor(frame.file);
      if (generated !== undefined && cached(generated) === undefined) return false;
    }
    return (info.causes ?? []).every(allKnown);
  }

  /** The generated files that frames of absent files were mapped from by Node, and their entries. */
  function redirects(entries: Map<string, Entry>): Map<string, string> {
    const via = new Map<string, string>();
    for (const [file, entry] of entries) {
      const generated = entry === ABSENT ? generatedFor(file) : undefined;
      if (generated !== undefined) via.set(file, generated);
    }
    return via;
  }

  /** `failed` counts the frames a map could not be applied to. */
  function apply(frames: readonly StackFrame[], entries: ReadonlyMap<string, Entry>, via: ReadonlyMap<string, string>, failed = { count: 0 }): StackFrame[] {
    // Frames Node already mapped go back to their generated positions, to be mapped like the others.
    const work = frames.map((frame) => unmapped(frame, entries, via) ?? frame);
    return work.map((frame, i) => {
      const node = frames[i]!;
      if (!mappable(frame)) return frame;
      const entry = entries.get(frame.file);
      if (entry === undefined || entry === NO_MAP || entry === ABSENT) return node;
      try {
        const mapped = mapFrame(frame, work[i + 1], entry);
        return frame === node ? mapped : nodeMapped(node, mapped, entry);
      } catch (error) {
        failed.count += 1;
        debug(`source map for ${frame.file} failed at ${frame.line}:${frame.column ?? 0}: ${errorText(error)}`);
        return node;
      }
    });
  }

  function mapFramesKnown(frames: readonly StackFrame[]): StackFrame[] | undefined {
    return allKnown({ frames }) ? mapFramesSync(frames) : undefined;
  }

  async function mapFrames(frames: readonly StackFrame[]): Promise<StackFrame[]> {
    const now = mapFramesKnown(frames);
    if (now !== undefined) return now;
    try {
      const files = new Set<string>();
      for (const frame of frames) if (mappable(frame)) files.add(frame.file);
      const entries = new Map<string, Entry>();
      await Promise.all([...files].map(async (file) => entries.set(file, await entryAsync(file))));
      const via = redirects(entries);
      await Promise.all([...via.values()].map(async (file) => entries.set(file, await entryAsync(file))));
      return apply(frames, entries, via);
    } catch (error) {
      debug(`source maps not applied: ${errorText(error)}`);
      return [...frames];
    }
  }

  /** The frames mapped for the same place while no map changed; a copy of the array, the frames shared. */
  function known(frames: readonly StackFrame[]): StackFrame[] | undefined {
    return places.get(frames, "", generation)?.slice();
  }

  function mapFramesSync(frames: readonly StackFrame[]): StackFrame[] {
    const hit = known(frames);
    if (hit !== undefined) return hit;
    try {
      const start = generation;
      const entries = new Map<string, Entry>();
      for (const frame of frames) {
        if (mappable(frame) && !entries.has(frame.file)) entries.set(frame.file, entrySync(frame.file));
      }
      const via = redirects(entries);
      for (const file of via.values()) if (!entries.has(file)) entries.set(file, entrySync(file));
      const failed = { count: 0 };
      const mapped = apply(frames, entries, via, failed);
      // Kept for the place only when it depended on the maps alone: none read now, none failed, no file absent (whose
      // frames depend on what Node mapped, which can change), and the frames frozen (see PlaceResults).
      if (start === generation && failed.count === 0 && via.size === 0 && ![...entries.values()].includes(ABSENT) && frames.every((frame) => Object.isFrozen(frame))) {
        for (const frame of mapped) if (!Object.isFrozen(frame)) Object.freeze(frame.generated), Object.freeze(frame);
        places.set(frames, "", generation, mapped.slice());
      }
      return mapped;
    } catch (error) {
      debug(`source maps not applied: ${errorText(error)}`);
      return [...frames];
    }
  }

  function mapThrownKnown(info: ThrownInfo): ThrownInfo | undefined {
    // Reports from places seen before: every map is in memory, so no promise per frame or cause.
    const hit = info.causes.length === 0 ? known(info.frames) : undefined;
    if (hit !== undefined) return { ...info, frames: hit, causes: [] };
    return allKnown(info) ? mapThrownSync(info) : undefined;
  }

  async function mapThrown(info: ThrownInfo): Promise<ThrownInfo> {
    const now = mapThrownKnown(info);
    if (now !== undefined) return now;
    const [frames, causes] = await Promise.all([mapFrames(info.frames), Promise.all(info.causes.map(mapThrown))]);
    return { ...info, frames, causes };
  }

  function mapThrownSync(info: ThrownInfo): ThrownInfo {
    return { ...info, frames: mapFramesSync(info.frames), causes: info.causes.map(mapThrownSync) };
  }

  return { mapFrames, mapFramesSync, mapThrown, mapThrownSync, mapFramesKnown, mapThrownKnown };
}

/** Frames with a file and line that were not mapped already (by us, or by Node's --enable-source-maps). */
function mappable(frame: StackFrame): frame is StackFrame & { file: string; line: number } {
  return hasRealFile(frame) && frame.line !== undefined && frame.generated === undefined;
}

/** A frame Node mapped to an absent file, at its generated position in the file Node mapped it from. */
function unmapped(frame: StackFrame, entries: ReadonlyMap<string, Entry>, via: ReadonlyMap<string, string>): StackFrame | undefined {
  if (!mappable(frame) || entries.get(frame.file) !== ABSENT) return undefined;
  const generated = via.get(frame.file);
  const entry = generated === undefined ? undefined : entries.get(generated);
  if (generated === undefined || entry === undefined || entry === NO_MAP || entry === ABSENT) return undefined;
  const source = pathToFileURL(frame.file).href;
  const at = generatedPositionFor(entry.trace, { source, line: frame.line, column: Math.max(0, (frame.column ?? 1) - 1) });
  if (at.line === null) return undefined;
  return { ...frame, file: generated, line: at.line, column: at.column + 1 };
}

/** Node's position is kept (it is where Node mapped the frame); the name and source text are the map's. */
function nodeMapped(node: StackFrame, mapped: StackFrame, entry: Loaded): StackFrame {
  if (mapped.generated === undefined || node.file === undefined) return node;
  const out: StackFrame = { ...mapped, file: node.file };
  if (node.line !== undefined) out.line = node.line;
  if (node.column !== undefined) out.column = node.column;
  const content = sourceContentFor(entry.trace, pathToFileURL(node.file).href);
  if (content !== null) out.originalSource = content;
  else delete out.originalSource;
  return out;
}

function isAbsent(error: unknown, file: string): boolean {
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  return code === "ENOENT" && path === file;
}

function mapFrame(frame: StackFrame & { file: string; line: number }, caller: StackFrame | undefined, entry: Loaded): StackFrame {
  const needle = { line: frame.line, column: Math.max(0, (frame.column ?? 1) - 1) };
  let pos = originalPositionFor(entry.trace, needle);
  if (pos.source === null) pos = originalPositionFor(entry.trace, { ...needle, bias: LEAST_UPPER_BOUND });
  if (pos.source === null) return frame;
  const mapped: StackFrame = {
    ...frame,
    file: toPath(pos.source),
    line: pos.line,
    column: pos.column + 1,
    funcName: originalName(frame, caller, entry) ?? frame.funcName,
    generated: { file: frame.file, line: frame.line, column: frame.column ?? 1 },
  };
  const content = sourceContentFor(entry.trace, pos.source);
  if (content !== null) mapped.originalSource = content;
  else delete mapped.originalSource;
  return mapped;
}

/**
 * A tail with no map comment that is one unbroken run of non-space characters may be the end of
 * an inline map that started before it; minified code has spaces well within 64 KB.
 */
function mayEndInLongDataUrl(tail: Tail): boolean {
  return !tail.whole && /^\S+\s*$/.test(tail.text);
}

function findReference(file: string, text: string): MapReference | undefined {
  const key = "sourceMappingURL=";
  const at = text.lastIndexOf(key);
  if (at < 4) return undefined;
  const lead = text.slice(Math.max(0, at - 8), at);
  if (!/\/\/[#@]\s*$/.test(lead)) return undefined;
  const rest = text.slice(at + key.length);
  const url = /^\S+/.exec(rest)?.[0];
  if (url === undefined || rest.slice(url.length).trim() !== "") return undefined;
  const fileUrl = pathToFileURL(file).href;
  const data = DATA_URL.exec(url);
  if (data !== null) {
    const payload = url.slice(data[0].length);
    const inline = data[1] !== undefined ? Buffer.from(payload, "base64").toString("utf8") : decodeURIComponent(payload);
    return { inline, url: fileUrl };
  }
  const resolved = new URL(url, fileUrl);
  if (resolved.protocol !== "file:") throw new Error(`map at ${url} is not a local file`);
  return { path: fileURLToPath(resolved), url: resolved.href };
}

function buildEntry(json: string, url: string): Loaded {
  const raw = JSON.parse(json) as { sections?: unknown };
  if (raw.sections !== undefined) return { trace: FlattenMap(raw as Parameters<typeof FlattenMap>[0], url) };
  return { trace: new TraceMap(raw as ConstructorParameters<typeof TraceMap>[0], url) };
}

/**
 * A map with names (minifiers write them, tsc does not) lets a frame's own function be named from
 * its definition, which needs the generated text; it is kept with the map, read once.
 */
function needsText(entry: Loaded): boolean {
  return entry.trace.names.length > 0;
}

function withText(entry: Loaded, text: string): void {
  entry.text = { value: text, lineStarts: lineStarts(text) };
}

function toPath(source: string): string {
  if (source.startsWith("file://")) {
    try {
      return fileURLToPath(source);
    } catch {
      return source;
    }
  }
  // Sources resolve against a file: URL, so anything else is another scheme (webpack://) kept as is.
  return source;
}
