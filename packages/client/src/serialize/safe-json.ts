// Safe conversion of any user value (attribute, annotation, log line, thrown value) to plain JSON data.
import { errorText } from "../errors.js";
import { types } from "node:util";

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

/** Bounds applied by `toSafeJson` and `toAttributeValue`. */
export interface SafeJsonLimits {
  maxDepth: number;
  maxStringLength: number;
  maxItems: number;
  maxKeys: number;
  maxKeyLength: number;
  maxOutputLength: number;
  maxAttributeLength: number;
}

export const SAFE_JSON_DEFAULTS: Readonly<SafeJsonLimits> = Object.freeze({
  maxDepth: 10, // nested objects/arrays below the root before "[Depth limit]"
  maxStringLength: 8192, // characters kept of a string value; the rest is cut with a marker
  maxItems: 200, // entries kept of an array, Set or Map; a marker counts the rest
  maxKeys: 200, // keys kept of an object; a "..." key counts the rest
  maxKeyLength: 256, // characters kept of an object key
  maxOutputLength: 512 * 1024, // approximate characters produced per call before "[Size limit]"
  maxAttributeLength: 1024, // characters kept of a string attribute value
});

/** How many cuts a conversion made, by kind. Add these into the client's counters. */
export interface CutCounts {
  strings: number; // strings shortened to maxStringLength (or an attribute's limit)
  items: number; // arrays, Sets and Maps that lost entries past maxItems
  keys: number; // objects that lost keys past maxKeys
  keyLength: number; // keys shortened to maxKeyLength
  depth: number; // values replaced by "[Depth limit]"
  circular: number; // references back to an ancestor replaced by "[Circular]"
  size: number; // containers cut short once maxOutputLength was reached
  errors: number; // exceptions swallowed: throwing getters, Proxy traps, toJSON
}

export function emptyCutCounts(): CutCounts {
  return { strings: 0, items: 0, keys: 0, keyLength: 0, depth: 0, circular: 0, size: 0, errors: 0 };
}

/** Adds `from` into `into` and returns `into`. */
export function addCutCounts(into: CutCounts, from: Readonly<CutCounts>): CutCounts {
  for (const key of Object.keys(into) as (keyof CutCounts)[]) into[key] += from[key];
  return into;
}

export function totalCuts(counts: Readonly<CutCounts>): number {
  let total = 0;
  for (const key of Object.keys(counts) as (keyof CutCounts)[]) total += counts[key];
  return total;
}

export const CIRCULAR = "[Circular]";
export const DEPTH_LIMIT = "[Depth limit]";
export const SIZE_LIMIT = "[Size limit]";
/** The key that carries "[n more keys]" (or the size marker) in a cut object. */
export const MORE_KEYS = "...";

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayLength = getter(typedArrayProto, "length");
const typedArrayTag = getter(typedArrayProto, Symbol.toStringTag);
const arrayBufferLength = getter(ArrayBuffer.prototype, "byteLength");
const sharedBufferLength = getter(SharedArrayBuffer.prototype, "byteLength");
const dataViewLength = getter(DataView.prototype, "byteLength");
const mapSize = getter(Map.prototype, "size");
const setSize = getter(Set.prototype, "size");
const hasBuffer = typeof Buffer === "function";

function getter(proto: object, key: PropertyKey): (this: unknown) => unknown {
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  if (!get) throw new Error(`no getter for ${String(key)}`);
  return get;
}

/** Reads `obj[key]`, turning a throwing getter or Proxy trap into a marker. */
function read(obj: object, key: PropertyKey, counts: CutCounts): unknown {
  try {
    return (obj as Record<PropertyKey, unknown>)[key];
  } catch (error) {
    counts.errors += 1;
    return `[Threw: ${describeThrow(error)}]`;
  }
}

/** A short text for something that was thrown at us; never throws itself. */
export function describeThrow(error: unknown): string {
  return cutString(errorText(error), 200);
}

export function numberToJson(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value === 0 ? 0 : value; // -0 becomes 0: JSON has no negative zero
}

export function dateToJson(value: Date): string {
  const time = Date.prototype.getTime.call(value);
  return Number.isNaN(time) ? "Invalid Date" : Date.prototype.toISOString.call(value);
}

export function functionTag(fn: unknown): string {
  let name = "";
  try {
    const raw = (fn as { name?: unknown }).name;
    if (typeof raw === "string") name = raw;
  } catch {
    // a Proxy of a function may throw on `name`; the tag stays anonymous
  }
  return `[Function ${name === "" ? "(anonymous)" : cutString(name, 128)}]`;
}

export function unbox(value: object): unknown {
  if (types.isNumberObject(value)) return Number.prototype.valueOf.call(value);
  if (types.isStringObject(value)) return String.prototype.valueOf.call(value);
  if (types.isBooleanObject(value)) return Boolean.prototype.valueOf.call(value);
  if (types.isBigIntObject(value)) return BigInt.prototype.valueOf.call(value);
  if (types.isSymbolObject(value)) return Symbol.prototype.valueOf.call(value);
  return undefined;
}

/** Scalars that builtin objects stand for, or undefined when `value` is a container. */
function builtinTag(value: object): string | undefined {
  if (types.isProxy(value)) return undefined;
  if (types.isTypedArray(value)) {
    const isBuffer = hasBuffer && Buffer.isBuffer(value);
    const name = isBuffer ? "Buffer" : String(typedArrayTag.call(value));
    return `[${name}(${String(typedArrayLength.call(value))})]`;
  }
  if (types.isArrayBuffer(value)) return `[ArrayBuffer(${String(arrayBufferLength.call(value))})]`;
  if (types.isSharedArrayBuffer(value)) return `[SharedArrayBuffer(${String(sharedBufferLength.call(value))})]`;
  if (types.isDataView(value)) return `[DataView(${String(dataViewLength.call(value))})]`;
  if (types.isWeakMap(value)) return "[WeakMap]";
  if (types.isWeakSet(value)) return "[WeakSet]";
  if (types.isPromise(value)) return "[Promise]";
  if (types.isGeneratorObject(value)) return "[Generator]";
  if (typeof WeakRef === "function" && value instanceof WeakRef) return "[WeakRef]";
  return undefined;
}

function defineKey(out: Record<string, unknown>, key: string, value: unknown): void {
  // "__proto__" assigned normally would set the prototype instead of a key
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

class Walker {
  private readonly ancestors = new Set<object>();
  private remaining: number;

  constructor(
    private readonly limits: SafeJsonLimits,
    private readonly counts: CutCounts,
  ) {
    this.remaining = limits.maxOutputLength;
  }

  walk(value: unknown, depth: number, skipToJson = false): unknown {
    switch (typeof value) {
      case "string":
        return this.string(value);
      case "number":
        this.remaining -= 8;
        return numberToJson(value);
      case "boolean":
        this.remaining -= 5;
        return value;
      case "bigint":
        return this.string(String(value));
      case "symbol":
        return this.string(String(value));
      case "function":
        return this.string(functionTag(value));
      case "undefined":
        return undefined;
      default:
        if (value === null) {
          this.remaining -= 4;
          return null;
        }
        try {
          return this.object(value as object, depth, skipToJson);
        } catch (error) {
          // anything not foreseen (revoked Proxy, stack overflow, patched builtins) ends here
          this.counts.errors += 1;
          return this.string(`[Threw: ${describeThrow(error)}]`);
        }
    }
  }

  private string(text: string): string {
    const out = cutString(text, this.limits.maxStringLength);
    if (out !== text) this.counts.strings += 1;
    this.remaining -= out.length + 2;
    return out;
  }

  private key(text: string): string {
    const out = cutString(text, this.limits.maxKeyLength);
    if (out !== text) this.counts.keyLength += 1;
    this.remaining -= out.length + 4;
    return out;
  }

  private object(value: object, depth: number, skipToJson: boolean): unknown {
    if (this.ancestors.has(value)) {
      this.counts.circular += 1;
      return this.string(CIRCULAR);
    }
    if (types.isDate(value)) return this.string(dateToJson(value));
    if (types.isRegExp(value)) return this.string(RegExp.prototype.toString.call(value));
    if (types.isBoxedPrimitive(value)) return this.walk(unbox(value), depth);
    const tag = builtinTag(value);
    if (tag !== undefined) return this.string(tag);
    if (depth > this.limits.maxDepth) {
      this.counts.depth += 1;
      return this.string(DEPTH_LIMIT);
    }
    if (this.remaining <= 0) {
      this.counts.size += 1;
      return this.string(SIZE_LIMIT);
    }
    this.ancestors.add(value);
    try {
      return this.container(value, depth, skipToJson);
    } finally {
      this.ancestors.delete(value);
    }
  }

  private container(value: object, depth: number, skipToJson: boolean): unknown {
    if (types.isNativeError(value)) return this.error(value, depth);
    if (types.isMap(value)) return this.map(value as Map<unknown, unknown>, depth);
    if (types.isSet(value)) return this.set(value as Set<unknown>, depth);
    if (Array.isArray(value)) return this.array(value, depth);
    if (!skipToJson) {
      const toJson = read(value, "toJSON", this.counts);
      if (typeof toJson === "function") {
        try {
          const result: unknown = toJson.call(value, "");
          // JSON.stringify calls toJSON once per value; a result that is `value` itself is walked as is
          if (result !== value) return this.walk(result, depth, true);
        } catch {
          this.counts.errors += 1; // fall back to the object's own fields
        }
      }
    }
    return this.plain(value, depth);
  }

  private array(value: readonly unknown[], depth: number): unknown[] {
    const raw = Number(read(value, "length", this.counts));
    const length = Number.isFinite(raw) && raw > 0 ? Math.floor(raw) : 0;
    const keep = Math.min(length, this.limits.maxItems);
    const out: unknown[] = [];
    for (let i = 0; i < keep; i += 1) {
      if (this.remaining <= 0) return this.sizeCut(out);
      const item = this.walk(read(value, i, this.counts), depth + 1);
      out.push(item === undefined ? null : item);
    }
    if (length > keep) this.moreItems(out, length - keep);
    return out;
  }

  private set(value: Set<unknown>, depth: number): unknown[] {
    const size = Number(setSize.call(value));
    const out: unknown[] = [];
    for (const item of Set.prototype.values.call(value)) {
      if (out.length >= this.limits.maxItems) break;
      if (this.remaining <= 0) return this.sizeCut(out);
      const converted = this.walk(item, depth + 1);
      out.push(converted === undefined ? null : converted);
    }
    if (size > out.length) this.moreItems(out, size - out.length);
    return out;
  }

/** A Map becomes an array of [key, value] pairs (keys may be objects); the pair adds no depth. */
  private map(value: Map<unknown, unknown>, depth: number): unknown[] {
    const size = Number(mapSize.call(value));
    const out: unknown[] = [];
    for (const [key, item] of Map.prototype.entries.call(value)) {
      if (out.length >= this.limits.maxItems) break;
      if (this.remaining <= 0) return this.sizeCut(out);
      const k = this.walk(key, depth + 1);
      const v = this.walk(item, depth + 1);
      out.push([k === undefined ? null : k, v === undefined ? null : v]);
    }
    if (size > out.length) this.moreItems(out, size - out.length);
    return out;
  }

  private error(value: Error, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of ["name", "message", "stack"]) {
      const converted = this.walk(read(value, key, this.counts), depth + 1);
      if (converted !== undefined) out[key] = converted;
    }
    this.fields(value, depth, out);
    // cause and AggregateError's errors are own but not enumerable
    for (const key of ["cause", "errors"]) {
      if (key in out || !Object.prototype.hasOwnProperty.call(value, key)) continue;
      const converted = this.walk(read(value, key, this.counts), depth + 1);
      if (converted !== undefined) out[key] = converted;
    }
    return out;
  }

  private plain(value: object, depth: number): Record<string, unknown> {
    return this.fields(value, depth, {});
  }

  private fields(value: object, depth: number, out: Record<string, unknown>): Record<string, unknown> {
    let keys: string[];
    try {
      keys = Object.keys(value);
    } catch (error) {
      this.counts.errors += 1;
      out[MORE_KEYS] = this.string(`[Threw: ${describeThrow(error)}]`);
      return out;
    }
    const keep = Math.min(keys.length, this.limits.maxKeys);
    for (let i = 0; i < keep; i += 1) {
      if (this.remaining <= 0) {
        this.counts.size += 1;
        out[MORE_KEYS] = SIZE_LIMIT;
        return out;
      }
      const key = keys[i] as string;
      const converted = this.walk(read(value, key, this.counts), depth + 1);
      if (converted !== undefined) defineKey(out, this.key(key), converted);
    }
    if (keys.length > keep) {
      this.counts.keys += 1;
      out[MORE_KEYS] = `[${keys.length - keep} more keys]`;
    }
    return out;
  }

  private sizeCut(out: unknown[]): unknown[] {
    this.counts.size += 1;
    out.push(SIZE_LIMIT);
    return out;
  }

  private moreItems(out: unknown[], left: number): void {
    this.counts.items += 1;
    out.push(`[${left} more items]`);
  }
}

/** Limits made by resolveLimits (frozen, complete). */
const resolved = new WeakSet<object>([SAFE_JSON_DEFAULTS]);

export function resolveLimits(limits: Partial<SafeJsonLimits> | undefined): SafeJsonLimits {
  if (limits === undefined) return SAFE_JSON_DEFAULTS;
  // Limits this function made are frozen and complete: given again (a constant resolved once, or passed on from
  // one conversion to the next), they are used as they are, not copied for every value converted.
  if (resolved.has(limits)) return limits as SafeJsonLimits;
  const out = { ...SAFE_JSON_DEFAULTS };
  for (const key of Object.keys(out) as (keyof SafeJsonLimits)[]) {
    const given = limits[key];
    if (typeof given === "number" && !Number.isNaN(given) && given >= 0) out[key] = given;
  }
  Object.freeze(out);
  resolved.add(out);
  return out;
}

/**
 * Converts anything to data that JSON.stringify accepts and that survives a round trip
 * unchanged. Never throws. Cuts are counted into `counts` when given.
 */
export function toSafeJson(value: unknown, limits?: Partial<SafeJsonLimits>, counts?: CutCounts): unknown {
  const tally = counts ?? emptyCutCounts();
  try {
    const out = new Walker(resolveLimits(limits), tally).walk(value, 0);
    return out === undefined ? null : out;
  } catch (error) {
    tally.errors += 1;
    return `[Threw: ${describeThrow(error)}]`;
  }
}
