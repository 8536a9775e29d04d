// Which reports are duplicates: a fingerprint made cheaply from the raw error (or call site) text, and whether a
// report carries nothing of its own that merging it into another would lose.
import type { BacktraceReport } from "./report.js";

/** Frames of the raw stack text that make the fingerprint: deeper frames rarely tell two storms apart. */
const TOP_FRAMES = 8;
/** Longest message part of a fingerprint; a longer message is compared on its start. */
const MAX_MESSAGE = 1024;

// Uuids, long hex ids (object ids, hashes, addresses) and numbers vary between occurrences of one error:
// "user 123 not found" and "user 456 not found" are the same error.
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const HEX = /\b(?:0x)?[0-9a-f]{8,}\b/gi;
const NUMBER = /\d+(?:\.\d+)?/g;

/** A message with its ids and numbers replaced by placeholders. */
export function normaliseMessage(message: string): string {
  const cut = message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message;
  return cut.replace(UUID, "<uuid>").replace(HEX, (hex) => (/\d/.test(hex) ? "<id>" : hex)).replace(NUMBER, "<n>");
}

/** The first frame lines of V8 stack text (what follows the message), as they are: file, line and column included. */
export function topFrames(stack: string): string {
  let at = stack.indexOf("\n    at ");
  if (at < 0) return "";
  let end = at;
  for (let n = 0; n < TOP_FRAMES && end >= 0; n++) end = stack.indexOf("\n    at ", end + 1);
  return end < 0 ? stack.slice(at) : stack.slice(at, end);
}

/**
 * Own fields of an Error besides its message and stack (code, errno, syscall, path); undefined when one is not a scalar.
 * Text is normalised like the message; a number or a boolean (a status code, an errno, a flag) is kept as it is.
 */
function extraFields(error: Error): string | undefined {
  let out = "";
  for (const key of Object.keys(error)) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value !== null && typeof value === "object") return undefined;
    if (typeof value === "function" || typeof value === "symbol") return undefined;
    out += `\u0001${key}=${typeof value === "string" ? normaliseMessage(value) : `${typeof value}:${String(value)}`}`;
  }
  return out;
}

/** The name of the error's class: the report's type is that class's name when `name` is left at "Error". */
function className(error: Error): string {
  const ctor: unknown = (Object.getPrototypeOf(error) as { constructor?: unknown } | null)?.constructor;
  const name = typeof ctor === "function" ? (ctor as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : "";
}

/**
 * The report's fingerprint, or undefined when it must not be merged: a thrown value that is not an Error, an error
 * with a cause or structured fields, or a report with attributes, annotations, attachments or log lines of its own
 * (those may differ between occurrences and would be lost). Scope and client context are compared by identity by
 * the caller. Reads `error.stack`, which V8 formats once; building the report would read it anyway. Never throws: an
 * error whose fields cannot be read (a throwing getter, a hostile proxy) is not merged, and is built and sent as any other.
 */
export function fingerprint(report: BacktraceReport): string | undefined {
  try {
    return print(report);
  } catch {
    return undefined;
  }
}

function print(report: BacktraceReport): string | undefined {
  if (!report.ownDataEmpty()) return undefined;
  const kind = `${report.errorType}\u0000${report.classifier ?? ""}`;
  if (report.hasError) {
    const error = report.error;
    if (!(error instanceof Error) || "cause" in error || error instanceof AggregateError) return undefined;
    const stack = error.stack;
    if (typeof stack !== "string") return undefined;
    // A message that is not text is shown as the report builds it (inspected): two objects would read alike here.
    const message: unknown = error.message;
    if (typeof message !== "string") return undefined;
    const extra = extraFields(error);
    if (extra === undefined) return undefined;
    return `${kind}\u0000${String(error.name)}\u0000${className(error)}\u0000${normaliseMessage(message)}${extra}\u0000${topFrames(stack)}`;
  }
  const stack = report.callSite?.stack;
  if (report.message === undefined || typeof stack !== "string") return undefined;
  return `${kind}\u0000\u0000${normaliseMessage(report.message)}\u0000${topFrames(stack)}`;
}
