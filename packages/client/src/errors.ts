// The errors backtrace-ts throws, each with a stable `code` users can match on, and the one way an error becomes text.
import { types } from "node:util";

export const ErrorCodes = {
  /** `initialize` was called without an endpoint, or with one that is not an http(s) URL. */
  INVALID_ENDPOINT: "BT_INVALID_ENDPOINT",
  /** The endpoint is not a submit.backtrace.io URL and no token was given (nor one found in the URL). */
  MISSING_TOKEN: "BT_MISSING_TOKEN",
  /** A numeric option (timeout, exitTimeout, contextLineCount, tabWidth, ...) is not a valid number. */
  INVALID_NUMBER: "BT_INVALID_NUMBER",
  /** An option has the wrong type (attributes not an object, attachments not a list of paths, ...). */
  INVALID_OPTION: "BT_INVALID_OPTION",
  /** An option name that backtrace-ts does not know (often a snake_case name from backtracepython). */
  UNKNOWN_OPTION: "BT_UNKNOWN_OPTION",
  /** Not thrown: the code of the one-time warning for a report made before `initialize` (it is dropped). */
  NOT_INITIALIZED: "BT_NOT_INITIALIZED",
  /** With `debugBacktrace`, an error raised while collecting or sending a report. */
  COLLECTION_FAILED: "BT_COLLECTION_FAILED",
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

// Every BacktraceError carries this mark, so that `instanceof` holds across two loaded copies of the package
// (its ES module and CommonJS builds, or two versions in one application).
const MARK = Symbol.for("backtrace-ts.error");

/** Every error backtrace-ts throws. Match on `code`, not on the message. */
export class BacktraceError extends Error {
  override readonly name: string = "BacktraceError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, MARK, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== "object" || value === null || (value as { [MARK]?: unknown })[MARK] !== true) return false;
    // A subclass from the other copy is told by its name: a BacktraceConfigError is a BacktraceError, not the reverse.
    return this === BacktraceError || (value as { name?: unknown }).name === this.name;
  }
}

/** A bad option given to `initialize` or `new BacktraceClient`. */
export class BacktraceConfigError extends BacktraceError {
  override readonly name: string = "BacktraceConfigError";
  /** The option at fault, as the user spelled it. */
  readonly option: string;

  constructor(code: ErrorCode, option: string, message: string) {
    super(code, message);
    this.option = option;
  }
}

/** True for any error thrown by backtrace-ts, whichever copy of the package threw it. */
export function isBacktraceError(value: unknown): value is BacktraceError {
  if (value instanceof BacktraceError) return true;
  const code = (value as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("BT_") && value instanceof Error;
}

/**
 * A short text for something thrown or failed: an error's message (after its code when the message does not
 * hold it), "object" for other objects, the value as text otherwise. Never throws.
 */
export function errorText(error: unknown): string {
  try {
    let text: string;
    if (types.isNativeError(error) || error instanceof Error) {
      const message = String(error.message);
      const code = (error as { code?: unknown }).code;
      text = typeof code === "string" && code !== "" && !message.includes(code) ? `${code}: ${message}` : message;
    } else if (typeof error === "object" && error !== null) text = "object";
    else text = String(error);
    return text;
  } catch {
    return "unknown";
  }
}
