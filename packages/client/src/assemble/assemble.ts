// From a report to the payload delivery sends: the error described, frames mapped, source read,
// beforeSend, the body built and serialized within the byte budget. Async in the background, sync at exits.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cachedDynamicAttributes, processStaticAttributes } from "../enrich/attributes.js";
import type { Attributes, SourceCodeEntry } from "../body.js";
import { lazyWorkers } from "../builtins.js";
import { buildBody, convertAttributes } from "./build.js";
import { redactSourceLine } from "./redact.js";
import type { ResolvedOptions } from "../options.js";
import type { BacktraceReport } from "../capture/report.js";
import { serializeBody } from "../serialize/serialize.js";
import { createSourceReader } from "../enrich/source-code.js";
import { loadSourceMap } from "../enrich/lazy.js";
import type { SourceMapper } from "../enrich/source-map.js";
import { dropFramesUnder, dropLoaderFrames, parseStack, type StackFrame } from "../capture/stack.js";
import { describeThrown, type ThrownInfo } from "../capture/thrown.js";
import type { Payload } from "../payload.js";
import { attachmentsOf, breadcrumbPart, LAST_ID_ATTRIBUTE } from "./attachments.js";
import { defaults } from "../defaults.js";
import { errorText } from "../errors.js";
import { AGENT } from "../version.js";

export interface AssemblerConfig {
  options: ResolvedOptions;
  debug(message: string): void;
  /** Called for each report whose body had to be trimmed to fit `maxReportBytes`. */
  onTrimmed(): void;
  /** Attributes of what was dropped since the last report built (`dropped.rateLimited`, `dropped.sampled`), taken once. */
  takeDropped?: (() => Record<string, number> | undefined) | undefined;
}

export interface Assembler {
  /** The report's payload, or undefined when beforeSend dropped it. May throw (the caller counts it). */
  prepare(report: BacktraceReport): Promise<Payload | undefined>;
  /** The same, synchronously, for the crash and exit paths. */
  prepareSync(report: BacktraceReport): Payload | undefined;
  /** The default and `initialize` attributes a report starts with, as `getAttributes()` shows them. */
  baseAttributes(): Record<string, unknown>;
}

// The folder of the bundle that runs, set by the bundle's banner (scripts/build.mjs); undefined from the sources.
declare const __backtrace_ts_dir: string | undefined;
let ownDirCache: string | undefined;
/**
 * The folder of the library's own files, so their frames can be left out of reports: only when it is
 * the folder of the backtrace-ts package itself. When an application bundles the library into its own
 * file, that folder holds the application's code, whose frames must stay.
 */
function ownDir(): string {
  if (ownDirCache !== undefined) return ownDirCache;
  // Read at the first report, not at import.
  ownDirCache = "";
  const dir = typeof __backtrace_ts_dir === "string" ? __backtrace_ts_dir : undefined;
  if (dir === undefined) return ownDirCache;
  try {
    const pkg = JSON.parse(readFileSync(join(dir, "..", "package.json"), "utf8")) as { name?: unknown };
    if (pkg.name === AGENT) ownDirCache = dir;
  } catch {
    // Not the package's folder: nothing is left out.
  }
  return ownDirCache;
}

let staticCache: Attributes | undefined;

/** Values that are not scalars: converted for each report, so a change made to them in place is seen. */
function isObjectValue(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

/** The static default attributes in wire form, converted and redacted once per process. */
function wireStaticAttributes(): Attributes {
  const out: Attributes = {};
  convertAttributes(processStaticAttributes(), out, {}, { values: 0 });
  return out;
}

/** The thread a report comes from: "main", or the worker thread's id. */
function currentThread(): { id: string; name: string } {
  const { isMainThread, threadId } = lazyWorkers();
  return isMainThread ? { id: "main", name: "main" } : { id: `worker-${threadId}`, name: `worker ${threadId}` };
}

export function createAssembler(config: AssemblerConfig): Assembler {
  const { options } = config;
  const debug = options.debugBacktrace ? config.debug : undefined;
  // Made at the first report: the source-map code is loaded then, not at initialize. Should it fail to load, frames go unmapped.
  let made: SourceMapper | null | undefined;
  const sourceMapper = (): SourceMapper | undefined => {
    if (!options.sourceMaps) return undefined;
    if (made === undefined) {
      try {
        made = loadSourceMap().createSourceMapper(debug ? { debug } : {});
      } catch (error) {
        made = null;
        debug?.(`source maps are not applied: ${errorText(error)}`);
      }
    }
    return made ?? undefined;
  };
  // Source lines are shown as they are, but secret shapes in them (a hard-coded URL password, an sk_live_ key) are not.
  const reader = createSourceReader({ redactLine: redactSourceLine });
  const dynamicAttributes = cachedDynamicAttributes();
  let ready: { from: Attributes; attributes: Attributes; objects: Record<string, unknown>; redactions: number } | undefined;

  /**
   * The default and client attributes in wire form, made again only when the dynamic defaults change
   * (at most once a second): a burst of reports converts and redacts them once, not once per report.
   */
  function readyAttributes(): NonNullable<typeof ready> {
    const dynamic = dynamicAttributes();
    if (ready?.from === dynamic) return ready;
    staticCache ??= wireStaticAttributes();
    const scalars: Record<string, unknown> = {};
    const objects: Record<string, unknown> = {};
    for (const [key, value] of Object.entries({ ...dynamic, ...options.attributes })) {
      if (isObjectValue(value)) objects[key] = value;
      else scalars[key] = value;
    }
    const converted: Attributes = {};
    const count = { values: 0 };
    convertAttributes(scalars, converted, {}, count);
    // The error's own two come first, set for each report. Made through JSON.parse, which gives an object
    // with fast properties: V8 copies those in one step, and a burst copies this object once per report.
    const merged: Attributes = { "error.type": "", "error.message": "" };
    for (const [key, value] of Object.entries(staticCache)) if (!(key in scalars)) merged[key] = value;
    Object.assign(merged, converted);
    const attributes = JSON.parse(JSON.stringify(merged)) as Attributes;
    return (ready = { from: dynamic, attributes, objects, redactions: count.values });
  }
  const sourceOptions = { contextLineCount: options.contextLineCount, tabWidth: options.tabWidth };
  const noSource = { frameIds: [], sourceCode: {} };

  /** Loader frames dropped per report, for its library annotation. */
  const loaderDropped = new WeakMap<BacktraceReport, number>();

  function describe(report: BacktraceReport): { thrown: ThrownInfo | undefined; frames: StackFrame[] } {
    // The library's own frames go before mapping: its files map to sources outside `ownDir`.
    const thrown = report.hasError ? describeThrown(report.error) : undefined;
    const raw = thrown ? thrown.frames : parseStack(report.callSite?.stack ?? "");
    const { frames, dropped } = dropLoaderFrames(dropFramesUnder(raw, ownDir()));
    if (thrown) thrown.frames = frames;
    if (dropped > 0) loaderDropped.set(report, dropped);
    return { thrown, frames };
  }

  const breadcrumbBytes = options.breadcrumbs === false ? defaults.breadcrumbs.maxBytes : options.breadcrumbs.maxBytes;

  /** The synchronous tail shared by both paths: beforeSend, body, serialization, attachments. */
  function finish(
    report: BacktraceReport,
    thrown: ThrownInfo | undefined,
    frames: StackFrame[],
    source: { frameIds: readonly (string | undefined)[]; sourceCode: Record<string, SourceCodeEntry> },
  ): Payload | undefined {
    if (options.beforeSend) {
      const kept = options.beforeSend(report);
      if (kept === false || kept === null) return undefined;
    }
    const wire = readyAttributes();
    const count = { values: wire.redactions };
    const crumbs = breadcrumbPart(report.breadcrumbs, breadcrumbBytes, count, options.beforeSend !== undefined);
    const attached = attachmentsOf(report, crumbs.attachment, options.attachments, options.maxAttachmentBytes);
    const notes: Record<string, number> = {};
    const loader = loaderDropped.get(report);
    if (loader !== undefined) notes["droppedLoaderFrames"] = loader;
    if (crumbs.dropped > 0) notes["droppedBreadcrumbs"] = crumbs.dropped;
    if (attached.cut > 0) {
      notes["droppedAttachments"] = attached.cut;
      notes["droppedAttachmentBytes"] = attached.cutBytes;
      debug?.(`report ${report.uuid}: ${attached.cut} in-memory attachments over maxAttachmentBytes left out`);
    }
    const attributes: Record<string, unknown> = { ...wire.objects, ...report.layeredAttributes() };
    if (crumbs.lastId !== undefined) attributes[LAST_ID_ATTRIBUTE] = crumbs.lastId;
    const duplicates = report.duplicates;
    if (duplicates && duplicates.count > 1) {
      attributes["duplicate.first"] = duplicates.first;
      attributes["duplicate.last"] = duplicates.last;
    }
    const dropped = config.takeDropped?.();
    if (dropped) Object.assign(attributes, dropped);
    const body = buildBody({
      report,
      thrown,
      frames,
      frameIds: source.frameIds,
      sourceCode: source.sourceCode,
      readyAttributes: wire.attributes,
      readyRedactions: count.values,
      attributes,
      annotations: report.getAnnotations(),
      notes,
      thread: report.thread ?? currentThread(),
    });
    const serialized = serializeBody(body, options.maxReportBytes, wire.attributes);
    if (serialized.trimmed) {
      config.onTrimmed();
      debug?.(`report ${report.uuid} was over ${options.maxReportBytes} bytes and was trimmed`);
    }
    debug?.(`report ${report.uuid}: ${serialized.bytes} bytes`);
    const payload: Payload = { uuid: report.uuid, json: serialized.json, attachments: attached.attachments };
    if (duplicates && duplicates.count > 1) payload.duplicates = duplicates.count;
    return payload;
  }

  /** `prepare` for a report some of whose maps or files are not in memory yet: read, without blocking. */
  async function prepareReading(report: BacktraceReport, thrown: ThrownInfo | undefined, frames: StackFrame[], mapper: SourceMapper): Promise<Payload | undefined> {
    if (thrown) frames = (thrown = await mapper.mapThrown(thrown)).frames;
    else frames = await mapper.mapFrames(frames);
    const source = options.collectSourceCode ? await reader.collect(frames, sourceOptions) : noSource;
    return finish(report, thrown, frames, source);
  }

  return {
    baseAttributes() {
      const { attributes, objects } = readyAttributes();
      const out: Record<string, unknown> = { ...attributes, ...objects };
      delete out["error.type"];
      delete out["error.message"];
      return out;
    },
    prepare(report) {
      // From a place seen before every map and file is in memory: the payload is made in this call, with no promise
      // per step; otherwise what is missing is read (the steps already done are not done again).
      try {
        let { thrown, frames } = describe(report);
        const mapper = sourceMapper();
        if (mapper && thrown) {
          const known = mapper.mapThrownKnown(thrown);
          if (known === undefined) return prepareReading(report, thrown, frames, mapper);
          frames = (thrown = known).frames;
        } else if (mapper) {
          const known = mapper.mapFramesKnown(frames);
          if (known === undefined) return prepareReading(report, thrown, frames, mapper);
          frames = known;
        }
        const source = options.collectSourceCode ? reader.collectKnown(frames, sourceOptions) : noSource;
        if (source === undefined) return reader.collect(frames, sourceOptions).then((read) => finish(report, thrown, frames, read));
        return Promise.resolve(finish(report, thrown, frames, source));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    prepareSync(report) {
      let { thrown, frames } = describe(report);
      const mapper = sourceMapper();
      if (mapper) {
        if (thrown) frames = (thrown = mapper.mapThrownSync(thrown)).frames;
        else frames = mapper.mapFramesSync(frames);
      }
      const source = options.collectSourceCode ? reader.collectSync(frames, sourceOptions) : noSource;
      return finish(report, thrown, frames, source);
    },
  };
}
