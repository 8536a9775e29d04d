// Report bodies to JSON within a byte budget, and user attribute values to wire values; safe conversion itself is in safe-json.ts.
import { types } from "node:util";
import type { Attributes, AttributeValue, ReportBody, WireFrame, WireThread } from "../body.js";
import { fitBody } from "./budget.js";
import type { TightLimits, TrimRecord } from "./trim.js";
import { jsonBody, type JsonBody } from "../payload.js";
import {
  cutString,
  dateToJson,
  describeThrow,
  emptyCutCounts,
  functionTag,
  numberToJson,
  resolveLimits,
  toSafeJson,
  totalCuts,
  unbox,
  type CutCounts,
  type SafeJsonLimits,
} from "./safe-json.js";


/** Where a user attribute goes: a scalar `value`, or `annotation` data when it is not a scalar. */
export interface AttributeConversion {
  value?: string | number | boolean;
  annotation?: unknown;
}

/**
 * Turns a user attribute into a wire attribute value. Null and undefined give neither field
 * (the attribute is dropped); objects and arrays give `annotation` for the client to move.
 */
export function toAttributeValue(
  value: unknown,
  limits?: Partial<SafeJsonLimits>,
  counts?: CutCounts,
): AttributeConversion {
  const resolved = resolveLimits(limits);
  const tally = counts ?? emptyCutCounts();
  try {
    switch (typeof value) {
      case "string":
        return textValue(value, resolved, tally);
      case "number":
        return { value: numberToJson(value) };
      case "boolean":
        return { value };
      case "bigint":
      case "symbol":
        return textValue(String(value), resolved, tally);
      case "function":
        return textValue(functionTag(value), resolved, tally);
      case "undefined":
        return {};
      default:
        if (value === null) return {};
        if (types.isDate(value)) return { value: dateToJson(value) };
        if (types.isBoxedPrimitive(value)) return toAttributeValue(unbox(value), limits, tally);
        return { annotation: toSafeJson(value, resolved, tally) };
    }
  } catch (error) {
    tally.errors += 1;
    return textValue(`[Threw: ${describeThrow(error)}]`, resolved, tally);
  }
}

/** A text attribute value, cut at the longest allowed (counted when it is). */
function textValue(raw: string, limits: SafeJsonLimits, tally: CutCounts): AttributeConversion {
  const out = cutString(raw, limits.maxAttributeLength);
  if (out !== raw) tally.strings += 1;
  return { value: out };
}

// When the body cannot be stringified at all (cycles, BigInt in annotations): keep everything but make it safe.
const LOOSE_LIMITS: SafeJsonLimits = {
  maxDepth: 64,
  maxStringLength: Infinity,
  maxItems: Infinity,
  maxKeys: Infinity,
  maxKeyLength: Infinity,
  maxOutputLength: 64 * 1024 * 1024,
  maxAttributeLength: Infinity,
};

function reconvert(value: unknown, limits: TightLimits): { value: unknown; cuts: number } {
  const counts = emptyCutCounts();
  const out = toSafeJson(value, limits, counts);
  return { value: out, cuts: totalCuts(counts) };
}

export interface SerializedBody {
  json: JsonBody;
  bytes: number; // UTF-8 length of json
  trimmed: TrimRecord | undefined; // undefined when the body fitted as it was
}

/**
 * Serializes a report body within `budgetBytes` (UTF-8). Under budget: one JSON.stringify,
 * body untouched, source entries shared by reports from one place reused as bytes already made.
 * Over: trims a copy in the fixed order and marks the cuts in it. `bytes` can still exceed the
 * budget only when the required fields alone do (a budget of a few hundred bytes). Never throws
 * for data that `toSafeJson` can handle.
 */
export function serializeBody(body: ReportBody, budgetBytes: number, ready?: Attributes): SerializedBody {
  const budget = Number.isNaN(budgetBytes) ? Infinity : budgetBytes; // a NaN budget means none, never a loop
  const pieces = withSharedSource(body, ready);
  if (pieces !== undefined && pieces.bytes <= budget) return { json: pieces, bytes: pieces.bytes, trimmed: undefined };
  let json: string;
  try {
    json = JSON.stringify(body);
  } catch {
    json = JSON.stringify(toSafeJson(body, LOOSE_LIMITS));
  }
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= budget) return { json: { pieces: [json], bytes }, bytes, trimmed: undefined };
  const fitted = fitBody(JSON.parse(json) as Record<string, unknown>, budget, bytes, reconvert);
  return { json: jsonBody(fitted.json), bytes: fitted.bytes, trimmed: fitted.record };
}

/** Each source entry's `,"id":{...}` as UTF-8 bytes, made once per entry object (entries are shared, see source-code.ts). */
const sourceFragments = new WeakMap<object, { id: string; bytes: Buffer }>();

function sourceFragment(id: string, entry: object): Buffer {
  const known = sourceFragments.get(entry);
  if (known !== undefined && known.id === id) return known.bytes;
  const bytes = Buffer.from(`,${JSON.stringify(id)}:${JSON.stringify(entry)}`, "utf8");
  sourceFragments.set(entry, { id, bytes });
  return bytes;
}

/** Wire stacks shared by reports from one place (see `shareStack`), with their JSON text once made. */
const sharedStacks = new WeakMap<readonly WireFrame[], string | undefined>();

/**
 * Freezes a wire stack (the array and each frame, of scalars only) for reports from one place to share: its JSON
 * text is then made once. Returns the same array.
 */
export function shareStack(stack: WireFrame[]): readonly WireFrame[] {
  for (const frame of stack) Object.freeze(frame);
  sharedStacks.set(Object.freeze(stack), undefined);
  return stack;
}

function stackText(stack: readonly WireFrame[]): string {
  if (!sharedStacks.has(stack)) return JSON.stringify(stack);
  let text = sharedStacks.get(stack);
  if (text === undefined) sharedStacks.set(stack, (text = JSON.stringify(stack)));
  return text;
}

/** The threads as JSON.stringify writes them; a thread of the shape buildBody makes takes its stack's shared text. */
function threadsText(threads: Record<string, WireThread>): string | undefined {
  if (typeof threads !== "object" || threads === null || Array.isArray(threads)) return JSON.stringify(threads);
  let text = "";
  for (const id of Object.keys(threads)) {
    const thread = threads[id]!;
    let json: string | undefined;
    const keys = typeof thread === "object" && thread !== null ? Object.keys(thread) : [];
    if (keys.length === 3 && keys[0] === "name" && keys[1] === "fault" && keys[2] === "stack" && typeof thread.name === "string" && typeof thread.fault === "boolean" && sharedStacks.has(thread.stack)) {
      json = `{"name":${JSON.stringify(thread.name)},"fault":${thread.fault},"stack":${stackText(thread.stack)}}`;
    } else json = JSON.stringify(thread);
    if (json === undefined) continue;
    text += `${text === "" ? "{" : ","}${JSON.stringify(id)}:${json}`;
  }
  return text === "" ? "{}" : `${text}}`;
}

/**
 * The body without `sourceCode`, as JSON.stringify writes it, field by field: the attributes through
 * `attributesText`, the threads through `threadsText`. Undefined where JSON.stringify would give nothing.
 */
function restText(body: ReportBody, ready: Attributes | undefined): string | undefined {
  if (ready === undefined) return JSON.stringify({ ...body, sourceCode: undefined });
  let text = "";
  for (const key of Object.keys(body)) {
    if (key === "sourceCode") continue;
    const value = (body as unknown as Record<string, unknown>)[key];
    const json =
      key === "attributes" ? attributesText(value as Attributes, ready) : key === "threads" ? threadsText(value as Record<string, WireThread>) : JSON.stringify(value);
    if (json === undefined) continue; // left out, as JSON.stringify leaves out an undefined field
    text += `${text === "" ? "{" : ","}${JSON.stringify(key)}:${json}`;
  }
  return text === "" ? "{}" : `${text}}`;
}

/** The attributes every report starts with (`ready`, but its first two, the error's own) as JSON text, made once per object. */
interface ReadyText {
  usable: boolean;
  keys: string[];
  values: AttributeValue[];
  text: string;
}
const readyTexts = new WeakMap<Attributes, ReadyText>();

function readyText(ready: Attributes): ReadyText {
  let known = readyTexts.get(ready);
  if (known === undefined) {
    const all = Object.keys(ready);
    // Without the error's two first (names that look like array indexes would come before them), none is shared.
    const usable = all[0] === "error.type" && all[1] === "error.message";
    const keys = usable ? all.slice(2) : [];
    const values = keys.map((key) => ready[key]!);
    const text = keys.map((key, i) => `${JSON.stringify(key)}:${JSON.stringify(values[i])}`).join(",");
    readyTexts.set(ready, (known = { usable, keys, values, text }));
  }
  return known;
}

/**
 * A report's attributes as JSON.stringify writes them, byte for byte. Built from `ready` (the error's two
 * first, then the defaults, then the report's own), the defaults' run is the text made once when every one of
 * them is there in its place with its value; else (one replaced or removed) the whole object is stringified.
 */
function attributesText(attributes: Attributes, ready: Attributes): string | undefined {
  const keys = Object.keys(attributes);
  const shared = readyText(ready);
  const count = shared.keys.length;
  const same =
    shared.usable &&
    keys.length >= count + 2 &&
    keys[0] === "error.type" &&
    keys[1] === "error.message" &&
    shared.keys.every((key, i) => keys[i + 2] === key && attributes[key] === shared.values[i]);
  if (!same) return JSON.stringify(attributes);
  let text = `{"error.type":${JSON.stringify(attributes["error.type"])},"error.message":${JSON.stringify(attributes["error.message"])}`;
  if (count > 0) text += `,${shared.text}`;
  for (let i = count + 2; i < keys.length; i++) {
    const value = JSON.stringify(attributes[keys[i]!]);
    if (value !== undefined) text += `,${JSON.stringify(keys[i])}:${value}`;
  }
  return `${text}}`;
}

const SOURCE_OPEN = Buffer.from(',"sourceCode":{');
const CLOSE_BOTH = Buffer.from("}}");
const CLOSE_BRACE = 0x7d;

/**
 * The body as UTF-8 pieces: everything but `sourceCode` stringified and encoded, then each source entry
 * as its shared bytes. Encoding the rest at once also spares V8 from flattening the string JSON.stringify
 * builds in parts. Undefined when there is no source to share or the rest cannot be stringified as it is.
 */
function withSharedSource(body: ReportBody, ready: Attributes | undefined): JsonBody | undefined {
  const sources = body.sourceCode;
  const ids = typeof sources === "object" && sources !== null ? Object.keys(sources) : [];
  if (ids.length === 0) return undefined;
  let rest: Buffer;
  try {
    const text = restText(body, ready);
    if (typeof text !== "string") return undefined;
    rest = Buffer.from(text, "utf8");
  } catch {
    return undefined;
  }
  // Always an object with other fields before it: "{...}" loses its "}" and the source entries follow.
  if (rest.length < 3 || rest[rest.length - 1] !== CLOSE_BRACE) return undefined;
  const head = rest.subarray(0, rest.length - 1);
  const pieces: Buffer[] = [head, SOURCE_OPEN];
  let bytes = head.length + SOURCE_OPEN.length;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const entry = sources[id];
    if (typeof entry !== "object" || entry === null) return undefined;
    let fragment = sourceFragment(id, entry);
    if (i === 0) fragment = fragment.subarray(1); // no comma before the first entry
    pieces.push(fragment);
    bytes += fragment.length;
  }
  pieces.push(CLOSE_BOTH);
  return { pieces, bytes: bytes + CLOSE_BOTH.length };
}

/**
 * Trims an already serialized body to a new, smaller budget (for a retry after 413).
 * Returns the new JSON, or undefined when it is not a JSON object or cannot fit.
 */
export function trimSerialized(json: string, budgetBytes: number): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const budget = Number.isNaN(budgetBytes) ? Infinity : budgetBytes;
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes <= budget) return json;
  const fitted = fitBody(body as Record<string, unknown>, budget, bytes, reconvert);
  return fitted.bytes <= budget ? fitted.json : undefined;
}
