// What a public send call takes from the application: its options, its message, and the stack of where it was called.
import type { BacktraceReport } from "./report.js";

/** Extra data for one report: attributes (indexed) and annotations (free-form). */
export interface SendOptions {
  attributes?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** Options that cannot be read are skipped (and counted by the report), never a reason to lose the report. */
export function applySendOptions(report: BacktraceReport, options: SendOptions): BacktraceReport {
  let attributes: unknown;
  let annotations: unknown;
  try {
    attributes = options?.attributes;
    annotations = options?.annotations;
  } catch {
    report.skippedInputs++;
  }
  if (attributes) report.setDictAttributes(attributes as Record<string, unknown>);
  if (annotations) report.setDictAnnotations(annotations as Record<string, unknown>);
  return report;
}

/** A message as text, whatever was passed. */
export function printable(message: unknown): string {
  if (typeof message === "string") return message;
  try {
    return String(message);
  } catch {
    return "[unprintable message]";
  }
}

/**
 * The stack of the application code that called `caller` (V8 leaves out `caller` and the library's
 * frames above it, which matters when the library is bundled into the application's own file).
 * V8 formats it only when read.
 */
export function captureCallSite(caller: (...args: never[]) => unknown): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, caller);
  return holder;
}
