// Describes any thrown value (type, message, frames, extra fields, causes) without ever throwing.
import { inspect, types } from "node:util";
import { parseStack, type StackFrame } from "./stack.js";

export interface ThrownInfo {
  /**
   * Classifier. Errors: their `name`, or the constructor name when `name` is the inherited
   * "Error" (class MyError extends Error {} gives "MyError"). Primitives: their typeof
   * ("string", "number", "bigint", "boolean", "symbol", "undefined"), and "null". Other
   * objects: the constructor name ("Object", "Array", "Map", "Foo"), "Object" when there is none.
   */
  type: string;
  message: string;
  /** The raw stack text when there is one. */
  stack: string | undefined;
  frames: StackFrame[];
  /** Own enumerable fields such as code, errno, syscall, path. */
  extra: Record<string, unknown>;
  /** The `cause` (first, when present) and then the AggregateError members, bounded and cycle-safe. */
  causes: ThrownInfo[];
  /** Added: how this entry hangs from its parent; absent on the top-level value. */
  relation?: "cause" | "error";
  /** Added: this value was already described higher up (a cycle); it has no frames and no causes. */
  circular?: boolean;
  /** Added: how many causes or members were left out by the depth and breadth bounds. */
  omittedCauses?: number;
}

export interface DescribeOptions {
  /** Levels of causes followed below the top value. */
  maxDepth?: number;
  /** Causes and members kept per value. */
  maxBreadth?: number;
  /** Values described in all, over the whole tree. */
  maxTotal?: number;
}

const DEFAULTS: Required<DescribeOptions> = {
  maxDepth: 8, // cause chains deeper than this are rare and unreadable
  maxBreadth: 16, // AggregateError members shown per level
  maxTotal: 64, // caps 16 members each with 16 members each ...
};

const MAX_EXTRA_KEYS = 50;
const MAX_MESSAGE = 10_000;
const UNREADABLE = "[unreadable]";
const OWN_ERROR_KEYS = new Set(["name", "message", "stack", "cause", "errors"]);
const INSPECT_OPTIONS = { depth: 2, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 1000, customInspect: false };

interface Walk {
  seen: Set<unknown>;
  remaining: number;
  options: Required<DescribeOptions>;
}

/** Any thrown value to a description. Never throws, whatever getters, proxies or realms are involved. */
export function describeThrown(value: unknown, options?: DescribeOptions): ThrownInfo {
  const walk: Walk = { seen: new Set(), remaining: 0, options: { ...DEFAULTS, ...options } };
  walk.remaining = walk.options.maxTotal - 1;
  try {
    return describe(value, 0, walk);
  } catch {
    return { type: "unknown", message: UNREADABLE, stack: undefined, frames: [], extra: {}, causes: [] };
  }
}

function describe(value: unknown, depth: number, walk: Walk): ThrownInfo {
  if (value === null) return plain("null", "null");
  switch (typeof value) {
    case "string":
      return plain("string", value.length > MAX_MESSAGE ? value.slice(0, MAX_MESSAGE) + "…" : value);
    case "number":
    case "boolean":
    case "undefined":
      return plain(typeof value, String(value));
    case "bigint":
      return plain("bigint", `${value}n`);
    case "symbol":
      return plain("symbol", safe(() => value.toString(), "Symbol()"));
    default:
      break;
  }
  const object = value as object;
  walk.seen.add(object);
  const isError = safe(() => types.isNativeError(object), false) || looksLikeError(object);
  const info: ThrownInfo = isError ? describeError(object) : describeObject(object);
  addCauses(info, object, isError, depth, walk);
  return info;
}

function plain(type: string, message: string): ThrownInfo {
  return { type, message, stack: undefined, frames: [], extra: {}, causes: [] };
}

/** Objects made by Error.captureStackTrace or copied from other errors: a string stack and message. */
function looksLikeError(object: object): boolean {
  return safe(() => {
    const o = object as { stack?: unknown; message?: unknown };
    return typeof o.stack === "string" && typeof o.message === "string";
  }, false);
}

function describeError(error: object): ThrownInfo {
  const e = error as { name?: unknown; message?: unknown; stack?: unknown };
  const name = safe(() => e.name, undefined);
  const ctor = constructorName(error);
  let type = typeof name === "string" && name !== "" ? name : "Error";
  if (type === "Error" && ctor !== undefined && ctor !== "Error" && ctor !== "Object") type = ctor;
  const rawMessage = safe(() => e.message, UNREADABLE);
  const message = typeof rawMessage === "string" ? clip(rawMessage) : rawMessage === undefined ? "" : toText(rawMessage);
  const rawStack = safe(() => e.stack, undefined);
  const stack = typeof rawStack === "string" ? rawStack : undefined;
  const frames = stack === undefined ? [] : parseStack(withoutHeader(stack, rawMessage));
  return { type, message, stack, frames, extra: ownFields(error, OWN_ERROR_KEYS), causes: [] };
}

/**
 * The stack starts with "Name: message", and a message may itself hold lines that look like
 * frames; parse only what follows the header when it can be found.
 */
function withoutHeader(stack: string, message: unknown): string {
  if (typeof message !== "string" || !message.includes("\n")) return stack;
  const at = stack.indexOf(message);
  return at < 0 ? stack : stack.slice(at + message.length);
}

function describeObject(object: object): ThrownInfo {
  const isArray = safe(() => Array.isArray(object), false);
  const type = isArray ? "Array" : typeof object === "function" ? "Function" : (constructorName(object) ?? "Object");
  const ownMessage = isArray ? undefined : safe(() => (object as { message?: unknown }).message, undefined);
  const message = typeof ownMessage === "string" ? clip(ownMessage) : toText(object);
  const extra = isArray ? {} : ownFields(object, OWN_ERROR_KEYS);
  return { type, message, stack: undefined, frames: [], extra, causes: [] };
}

function addCauses(info: ThrownInfo, object: object, isError: boolean, depth: number, walk: Walk): void {
  const related: Array<[unknown, "cause" | "error"]> = [];
  const hasCause = safe(() => "cause" in object, false);
  if (hasCause) related.push([safe(() => (object as { cause?: unknown }).cause, UNREADABLE), "cause"]);
  if (isError || info.type === "AggregateError") {
    const errors = safe(() => (object as { errors?: unknown }).errors, undefined);
    if (safe(() => Array.isArray(errors), false)) {
      const list = errors as unknown[];
      const length = safe(() => list.length, 0);
      for (let i = 0; i < length; i++) related.push([safe(() => list[i], UNREADABLE), "error"]);
    }
  }
  if (related.length === 0) return;
  let omitted = 0;
  for (const [value, relation] of related) {
    if (depth >= walk.options.maxDepth || info.causes.length >= walk.options.maxBreadth || walk.remaining <= 0) {
      omitted++;
      continue;
    }
    walk.remaining--;
    let child: ThrownInfo;
    if (typeof value === "object" && value !== null && walk.seen.has(value)) {
      child = { ...shallow(value), circular: true };
    } else {
      child = describe(value, depth + 1, walk);
    }
    child.relation = relation;
    info.causes.push(child);
  }
  if (omitted > 0) info.omittedCauses = omitted;
}

/** Type and message only, for a value already described (cycle). */
function shallow(value: object): ThrownInfo {
  const isError = safe(() => types.isNativeError(value), false) || looksLikeError(value);
  const full = isError ? describeError(value) : describeObject(value);
  return { type: full.type, message: full.message, stack: undefined, frames: [], extra: {}, causes: [] };
}

function constructorName(object: object): string | undefined {
  return safe(() => {
    const proto: unknown = Object.getPrototypeOf(object);
    if (proto === null || typeof proto !== "object") return undefined;
    const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value as unknown;
    const name = typeof ctor === "function" ? (ctor as { name?: unknown }).name : undefined;
    return typeof name === "string" && name !== "" ? name : undefined;
  }, undefined);
}

/** Own enumerable data fields; accessors are read once, and a throwing one is marked. */
function ownFields(object: object, skip: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = safe(() => Object.keys(object), [] as string[]);
  let count = 0;
  for (const key of keys) {
    if (skip.has(key)) continue;
    if (++count > MAX_EXTRA_KEYS) break;
    out[key] = safe(() => (object as Record<string, unknown>)[key], UNREADABLE);
  }
  return out;
}

/** A readable one-line text for any object: inspect without custom hooks, else a tag. */
function toText(value: unknown): string {
  const text = safe(() => inspect(value, INSPECT_OPTIONS), undefined);
  if (typeof text === "string") return clip(text);
  return safe(() => Object.prototype.toString.call(value), "[object]");
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + "…" : text;
}

function safe<T, F>(read: () => T, fallback: F): T | F {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/**
 * The value the client puts in `annotations.Exception`. Backtrace shows annotations as a
 * tree, so causes nest the way JavaScript nests them: `cause` is one object (a chain reads
 * top to bottom as Exception > cause > cause), AggregateError members are the array
 * `errors`. Each nested entry lists its frames as one "fn (file:line:col)" string each,
 * taken from the (source-mapped) frames rather than the raw stack text, so causes show
 * TypeScript positions too. Extra fields (code, errno, syscall, path) sit beside type and
 * message, as util.inspect prints them; one whose name clashes with ours goes under `extra`.
 */
export function exceptionAnnotation(info: ThrownInfo): Record<string, unknown> {
  return annotate(info, true);
}

const RESERVED = new Set(["type", "message", "stack", "frames", "cause", "errors", "extra", "circular", "omittedCauses"]);

function annotate(info: ThrownInfo, top: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { type: info.type, message: info.message };
  if (top) {
    if (info.stack !== undefined) out.stack = info.stack;
  } else if (info.frames.length > 0) {
    out.frames = info.frames.map(formatFrame);
  }
  const clashing: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(info.extra)) {
    if (RESERVED.has(key)) clashing[key] = value;
    else out[key] = value;
  }
  if (Object.keys(clashing).length > 0) out.extra = clashing;
  if (info.circular === true) out.circular = true;
  const errors: Record<string, unknown>[] = [];
  for (const child of info.causes) {
    if (child.relation === "error") errors.push(annotate(child, false));
    else out.cause = annotate(child, false);
  }
  if (errors.length > 0) out.errors = errors;
  if (info.omittedCauses !== undefined) out.omittedCauses = info.omittedCauses;
  return out;
}

/** "fn (file:line:col)", as V8 prints a frame. */
export function formatFrame(frame: StackFrame): string {
  let where: string;
  if (frame.file === undefined) where = frame.native === true ? "native" : "unknown location";
  else {
    where = frame.file;
    if (frame.line !== undefined) where += `:${frame.line}`;
    if (frame.column !== undefined) where += `:${frame.column}`;
  }
  return `${frame.funcName} (${where})`;
}
