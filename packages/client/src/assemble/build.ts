// buildBody: turns a report, its parsed error and its collected context into the wire body. Pure.
import type { Attributes, AttributeValue, ReportBody, SourceCodeEntry, WireFrame } from "../body.js";
import type { BacktraceReport } from "../capture/report.js";
import { SECRET_KEY, redact, redactSecret, redactString, type RedactionCount } from "./redact.js";
import { toSafeJson } from "../serialize/safe-json.js";
import { shareStack, toAttributeValue } from "../serialize/serialize.js";
import { PlaceResults } from "../enrich/place-results.js";
import type { StackFrame } from "../capture/stack.js";
import { exceptionAnnotation, type ThrownInfo } from "../capture/thrown.js";
import { AGENT, VERSION } from "../version.js";

export interface BuildInput {
  report: BacktraceReport;
  /** The described error of an error report; undefined for a message report. */
  thrown: ThrownInfo | undefined;
  /** Frames of the faulting thread, innermost first, already source-mapped and without the library's own. */
  frames: readonly StackFrame[];
  /** For each frame, the id of its `sourceCode` entry, if any. */
  frameIds: readonly (string | undefined)[];
  sourceCode: Record<string, SourceCodeEntry>;
  /** Attributes already in wire form (converted and redacted once, such as the defaults); the others win over them. */
  readyAttributes?: Attributes;
  /** Values redacted while `readyAttributes` were made: counted in each report that uses them. */
  readyRedactions?: number;
  /**
   * Attributes not yet made scalar (the report's own, and object values of the client's); each replaces
   * the ready attribute of its name, and a null or undefined one removes it.
   */
  attributes: Record<string, unknown>;
  /** Client and report annotations merged, not yet made JSON-safe. */
  annotations: Record<string, unknown>;
  thread: { id: string; name: string };
  langVersion?: string;
  /** Counts of what the library left out elsewhere (breadcrumbs, attachments, frames), for its own annotation. */
  notes?: Record<string, number>;
}

/** Key of the annotation where the library notes what it dropped or cut. */
export const LIBRARY_ANNOTATION = "backtrace-ts";

export function toWireFrame(frame: StackFrame, sourceId: string | undefined): WireFrame {
  const wire: WireFrame = { funcName: frame.funcName || "anonymous" };
  if (frame.line !== undefined && frame.line >= 1) wire.line = Math.floor(frame.line);
  if (frame.column !== undefined && frame.column >= 1) wire.column = Math.floor(frame.column);
  if (frame.file !== undefined) wire.library = frame.file;
  if (sourceId !== undefined) wire.sourceCode = sourceId;
  if (frame.native) wire.native = true;
  if (frame.internal) wire.internal = true;
  return wire;
}

/** Wire stacks of recent places (the same frozen frames with the same source ids), a few per first frame. */
const placeStacks = new PlaceResults<readonly WireFrame[], readonly (string | undefined)[]>(8, sameIds);

function sameIds(a: readonly (string | undefined)[], b: readonly (string | undefined)[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The wire stack of `frames`. Frames that are all frozen (those parsed from stack lines seen before, see stack.ts)
 * with the same source ids give the stack made for them the first time, shared and frozen, so that its JSON
 * text is made once (serialize.ts); any other frames give a stack of their own.
 */
export function wireStack(frames: readonly StackFrame[], frameIds: readonly (string | undefined)[]): WireFrame[] {
  const ids = frames.map((_, index) => frameIds[index]);
  const hit = placeStacks.get(frames, ids, 0);
  if (hit !== undefined) return hit as WireFrame[];
  const stack = frames.map((frame, index) => toWireFrame(frame, ids[index]));
  if (frames.length === 0 || !frames.every((frame) => Object.isFrozen(frame))) return stack;
  const shared = shareStack(stack);
  placeStacks.set(frames, ids, 0, shared);
  return shared as WireFrame[];
}

/** Puts `value` under `key`, or under "attribute <key>" when an annotation already has that name. */
function moveToAnnotations(annotations: Record<string, unknown>, key: string, value: unknown): void {
  annotations[Object.hasOwn(annotations, key) ? `attribute ${key}` : key] = value;
}

/**
 * Attributes in wire form, into `attributes`: scalars kept (redacted where secret-looking), objects and
 * arrays moved to `annotations`, null and undefined dropped.
 */
export function convertAttributes(
  raw: Record<string, unknown>,
  attributes: Record<string, AttributeValue>,
  annotations: Record<string, unknown>,
  redacted: RedactionCount,
): void {
  for (const [key, value] of Object.entries(raw)) {
    const converted = toAttributeValue(value);
    // Under a secret-looking key only strings go: numbers and booleans keep their type (they are indexed).
    if (typeof converted.value === "string" && SECRET_KEY.test(key)) attributes[key] = redactSecret(converted.value, redacted) as string;
    else if (typeof converted.value === "string") attributes[key] = redactString(converted.value, redacted);
    else if (converted.value !== undefined) attributes[key] = converted.value;
    else if (converted.annotation !== undefined) {
      const value = SECRET_KEY.test(key) ? redactSecret(converted.annotation, redacted) : redact(converted.annotation, redacted);
      moveToAnnotations(annotations, key, value);
    }
  }
}

export function buildBody(input: BuildInput): ReportBody {
  const { report, thrown } = input;
  const redacted: RedactionCount = { values: input.readyRedactions ?? 0 };
  const annotations: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input.annotations)) {
    annotations[key] = SECRET_KEY.test(key) ? redactSecret(toSafeJson(value), redacted) : redact(toSafeJson(value), redacted);
  }

  const message = thrown ? thrown.message : (report.message ?? "");
  // One copy of the ready attributes (V8 clones an object with fast properties in one step), then this report's.
  const attributes: Record<string, AttributeValue> = { ...input.readyAttributes };
  convertAttributes({ "error.type": report.errorType, "error.message": message }, attributes, annotations, redacted);
  for (const key of Object.keys(input.attributes)) if (Object.hasOwn(attributes, key)) delete attributes[key];
  convertAttributes(input.attributes, attributes, annotations, redacted);

  // Extra fields of an error (code, errno, any own field) are user data: made JSON-safe like any annotation.
  if (thrown) annotations["Exception"] = redact(toSafeJson(exceptionAnnotation(thrown)), redacted);
  if (report.logLines.length > 0) {
    annotations["Log"] = report.logLines.map((line) => ({
      ts: line.ts,
      msg: redact(typeof line.msg === "string" ? line.msg : toSafeJson(line.msg), redacted),
    }));
  }
  const notes = input.notes ?? {};
  if (report.droppedLogLines > 0 || redacted.values > 0 || report.skippedInputs > 0 || Object.keys(notes).length > 0) {
    const own = (annotations[LIBRARY_ANNOTATION] ??= {}) as Record<string, unknown>;
    Object.assign(own, notes);
    if (report.droppedLogLines > 0) own["droppedLogLines"] = report.droppedLogLines;
    if (report.skippedInputs > 0) own["skippedInputs"] = report.skippedInputs;
    if (redacted.values > 0) own["redactedValues"] = redacted.values;
  }

  const stack = wireStack(input.frames, input.frameIds);
  return {
    uuid: report.uuid,
    timestamp: report.timestamp,
    lang: "nodejs",
    langVersion: input.langVersion ?? process.version,
    agent: AGENT,
    agentVersion: VERSION,
    threads: { ...report.extraThreads, [input.thread.id]: { name: input.thread.name, fault: true, stack } },
    mainThread: input.thread.id,
    classifiers: [report.classifier ?? (thrown ? thrown.type : "Message")],
    attributes,
    annotations,
    sourceCode: input.sourceCode,
  };
}
