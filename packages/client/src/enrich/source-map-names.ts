// Recovers a mapped frame's original function name from a source map's `names`.
import { originalPositionFor, traceSegment, type TraceMap } from "@jridgewell/trace-mapping";
import type { StackFrame } from "../capture/stack.js";

/** A generated file's map and, when the map has names, the file's text (to find function definitions in). */
export interface NamedMap {
  trace: TraceMap;
  /** Offsets where each line of the generated text starts; with `text`. */
  text?: { value: string; lineStarts: number[] };
  /** Names already found, by "line:column:name" of the frame; bounded. */
  found?: Map<string, string | null>;
}

const IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;
const NOT_FUNCTION_NAMES = new Set(["call", "apply", "bind"]);
const FOUND_KEPT = 256;

/**
 * The frame's original name, "async Recv.fn [as alias]" shape kept. First the name the map gives to
 * the frame's own function definition (which works for the top frame and for async frames, whose
 * positions are an `await`, not a call); then, as Node does in its own fallback, the name mapped at
 * the caller's call site, which points at the callee's identifier. Anonymous frames stay anonymous:
 * a callback's call site names a parameter, not the function.
 */
export function originalName(frame: StackFrame & { line: number }, caller: StackFrame | undefined, map: NamedMap): string | undefined {
  if (frame.funcName === "anonymous") return undefined;
  const own = definitionName(frame, map);
  if (own !== undefined) return renameFunction(frame.funcName, own);
  if (caller === undefined || caller.file !== frame.file || caller.line === undefined) return undefined;
  const at = originalPositionFor(map.trace, { line: caller.line, column: Math.max(0, (caller.column ?? 1) - 1) });
  return usable(at.name) ? renameFunction(frame.funcName, at.name) : undefined;
}

function usable(name: string | null): name is string {
  return name !== null && IDENTIFIER.test(name) && !NOT_FUNCTION_NAMES.has(name);
}

/**
 * Stack text does not say where a function starts, but it gives the generated name: the nearest
 * definition of that name before the frame's position (`function n(`, `class n`, `n=async(`,
 * `n=t=>`...) is the frame's function in minified code, where names are short and scoped, and
 * the map names the identifier there. Receivers (`n.greet`) are left to the call-site rule:
 * minifiers keep property names.
 */
function definitionName(frame: StackFrame & { line: number }, map: NamedMap): string | undefined {
  const text = map.text;
  const generated = /^(?:async |new )?([\p{L}_$][\p{L}\p{N}_$]*)(?: \[as [^\]]*\])?$/u.exec(frame.funcName)?.[1];
  if (text === undefined || generated === undefined) return undefined;
  const key = `${frame.line}:${frame.column ?? 1}:${generated}`;
  const found = (map.found ??= new Map());
  const known = found.get(key);
  if (known !== undefined) return known ?? undefined;
  const start = text.lineStarts[frame.line - 1];
  const name = start === undefined ? undefined : nameAtDefinition(map, generated, start + Math.max(0, (frame.column ?? 1) - 1));
  if (found.size >= FOUND_KEPT) found.clear();
  found.set(key, name ?? null);
  return name;
}

function nameAtDefinition(map: NamedMap, generated: string, end: number): string | undefined {
  const { value, lineStarts } = map.text!;
  const id = generated.replace(/\$/g, "\\$");
  // Group 1 or 2 is the identifier; the lookbehind keeps `a.n=` and `xn=` from matching `n=`.
  const definition = new RegExp(
    `(?:\\bfunction\\s*\\*?\\s*|\\bclass\\s+)(${id})(?![\\p{L}\\p{N}_$])|(?<![\\p{L}\\p{N}_$.])(${id})\\s*=\\s*(?:async\\b|function\\b|\\(|[\\p{L}_$][\\p{L}\\p{N}_$]*\\s*=>)`,
    "gu",
  );
  let last = -1;
  definition.lastIndex = 0;
  for (let match = definition.exec(value); match !== null && match.index < end; match = definition.exec(value)) {
    last = match[1] !== undefined ? match.index + match[0].length - generated.length : match.index;
  }
  if (last < 0) return undefined;
  const line = upperBound(lineStarts, last) - 1;
  const column = last - lineStarts[line]!;
  const segment = traceSegment(map.trace, line, column);
  if (segment === null || segment[0] !== column || segment.length !== 5) return undefined;
  const name = map.trace.names[segment[4]] ?? null;
  return usable(name) ? name : undefined;
}

/** Index of the first element greater than `value` in a sorted array. */
function upperBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Where each line of `text` starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n", at + 1)) starts.push(at + 1);
  return starts;
}

/** Replaces the function part of "async Recv.fn [as alias]" / "new Fn" / "fn" with `name`. */
export function renameFunction(funcName: string, name: string): string | undefined {
  const match = /^((?:async |new )?)(.*?)((?: \[as [^\]]*\])?)$/.exec(funcName);
  if (match === null) return undefined;
  const [, prefix = "", core = "", alias = ""] = match;
  if (core.includes("<anonymous>")) return undefined;
  const dot = core.lastIndexOf(".");
  const renamed = dot < 0 ? name : core.slice(0, dot + 1) + name;
  return `${prefix}${renamed}${alias}`;
}
