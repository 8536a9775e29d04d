// Process hooks for uncaught exceptions and unhandled rejections, and the spool-then-blocking-send of a fatal report.
import { errorText } from "../errors.js";
import { postReportBlocking, type BlockingPostOptions } from "../transport/blocking-post.js";
import { decide, describeResult } from "../deliver/decide.js";
import type { Spool } from "../spool/spool.js";
import type { TransportResult } from "../transport/post.js";
import type { Payload } from "../payload.js";

/** Sent as the report's `error.type`. */
export type CrashKind = "Unhandled exception" | "Unhandled rejection";

/** The values of Node's `--unhandled-rejections` flag. */
export type RejectionsMode = "throw" | "strict" | "warn" | "warn-with-error-code" | "none";

export interface CrashHooks {
  /** The process ends right after this returns: report synchronously (see `deliverFatal`). */
  onFatal(error: unknown, kind: CrashKind): void;
  /** The process goes on (the application handles it, or the mode only warns): report in the background. */
  onNonFatal(error: unknown, kind: CrashKind): void;
  debug?: ((message: string) => void) | undefined;
}

const MODES: ReadonlySet<string> = new Set(["throw", "strict", "warn", "warn-with-error-code", "none"]);

/** Splits NODE_OPTIONS the way Node does: spaces separate, double quotes group, a backslash escapes inside quotes. */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let started = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === "\\" && i + 1 < text.length) {
      current += text[++i];
    } else if (c === '"') {
      quoted = !quoted;
      started = true;
    } else if (c === " " && !quoted) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

function lastMode(args: readonly string[]): RejectionsMode | undefined {
  let mode: RejectionsMode | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf("=");
    // Node accepts underscores for dashes in option names.
    const name = (eq === -1 ? arg : arg.slice(0, eq)).replace(/_/g, "-");
    if (name !== "--unhandled-rejections") continue;
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value !== undefined && MODES.has(value)) mode = value as RejectionsMode;
  }
  return mode;
}

/**
 * The `--unhandled-rejections` mode the process runs under: the command line wins over
 * NODE_OPTIONS, the last occurrence wins within each, and `throw` is Node's default.
 */
export function unhandledRejectionsMode(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env["NODE_OPTIONS"],
): RejectionsMode {
  return lastMode(execArgv) ?? lastMode(splitNodeOptions(nodeOptions ?? "")) ?? "throw";
}

/** True when Node will end the process after the current uncaught exception (nobody handles it). */
function processWillEnd(): boolean {
  return !process.hasUncaughtExceptionCaptureCallback() && process.listenerCount("uncaughtException") === 0;
}

const WRAPPED_REASON = /The promise rejected with the reason "([\s\S]*)"\.$/;

/**
 * Node wraps a rejection reason that is not error-like in an `ERR_UNHANDLED_REJECTION` error
 * before raising it. The reason seen a moment before in `process.emit` is the original; without
 * it (strict mode raises before emitting) the reason's text is taken back out of the message.
 */
function originalReason(error: unknown, seen: { reason: unknown } | undefined): unknown {
  let wrapped = false;
  let message = "";
  try {
    wrapped = error instanceof Error && (error as NodeJS.ErrnoException).code === "ERR_UNHANDLED_REJECTION";
    message = wrapped ? (error as Error).message : "";
  } catch {
    return error;
  }
  if (!wrapped) return error;
  if (seen) return seen.reason;
  const match = WRAPPED_REASON.exec(message);
  return match ? match[1] : error;
}

/**
 * Installs the crash hooks and returns the function that removes them.
 *
 * - `uncaughtExceptionMonitor` (observes only, changes nothing): for uncaught exceptions in every
 *   mode and for rejections in `throw` and `strict` mode, which Node raises as uncaught exceptions.
 *   `onFatal` when nobody handles it (the process ends), `onNonFatal` when the application has an
 *   `uncaughtException` listener or a capture callback (the process goes on).
 * - `process.emit` is wrapped, except in `strict` mode: the wrapper calls the original and
 *   returns its result unchanged, so Node sees exactly what it would have seen. It learns whether an
 *   `unhandledRejection` event found a listener; when none did, `warn`, `warn-with-error-code`
 *   and `none` mode rejections go to `onNonFatal` (Node only warns, sets the exit code, or does
 *   nothing), and in `throw` mode the original reason is kept for the monitor that follows.
 *
 * No `unhandledRejection`, `uncaughtException` or signal listener is added. Errors thrown by the
 * hooks are caught and given to `debug`.
 */
export function installCrashHandlers(hooks: CrashHooks, mode: RejectionsMode = unhandledRejectionsMode()): () => void {
  registry.add(hooks);
  uninstallShared ??= installShared(mode);
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    registry.delete(hooks);
    if (registry.size === 0) {
      uninstallShared?.();
      uninstallShared = undefined;
    }
  };
}

// The process hooks are installed once, whatever the number of clients, and call every client's
// hooks in turn: many clients neither stack wrappers of process.emit nor trip the listener warning.
const registry = new Set<CrashHooks>();
let uninstallShared: (() => void) | undefined;

/** Calls `use` on each registered client's hooks; one client's failure does not stop the others. */
function each(use: (hooks: CrashHooks) => void, what: string): void {
  for (const hooks of [...registry]) {
    try {
      use(hooks);
    } catch (failure) {
      try {
        hooks.debug?.(`${what} failed: ${errorText(failure)}`);
      } catch {
        // Debug output is best effort.
      }
    }
  }
}

function installShared(mode: RejectionsMode): () => void {
  const debug = (message: string): void => each((hooks) => hooks.debug?.(message), "debug output");
  let installed = true;
  let seenReason: { reason: unknown } | undefined;

  const onMonitor = (error: unknown, origin: string): void => {
    if (!installed) return;
    try {
      const kind: CrashKind = origin === "unhandledRejection" ? "Unhandled rejection" : "Unhandled exception";
      const value = kind === "Unhandled rejection" ? originalReason(error, seenReason) : error;
      seenReason = undefined;
      if (processWillEnd()) each((hooks) => hooks.onFatal(value, kind), "crash report");
      else each((hooks) => hooks.onNonFatal(value, kind), "crash report");
    } catch (failure) {
      debug(`crash handler failed: ${errorText(failure)}`);
    }
  };
  process.on("uncaughtExceptionMonitor", onMonitor);

  const afterRejectionEmit = (reason: unknown, handled: boolean): void => {
    if (!installed || handled) return;
    try {
      if (mode === "throw") {
        // Node raises it as an uncaught exception right after this returns; the monitor reports it.
        seenReason = { reason };
        process.nextTick(() => {
          seenReason = undefined;
        });
      } else {
        each((hooks) => hooks.onNonFatal(reason, "Unhandled rejection"), "rejection report");
      }
    } catch (failure) {
      debug(`rejection handler failed: ${errorText(failure)}`);
    }
  };

  let restoreEmit = (): void => undefined;
  if (mode !== "strict") {
    const original = process.emit;
    const wrapped = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
      const handled = (original as (...a: unknown[]) => boolean).call(this, event, ...args);
      if (event === "unhandledRejection") afterRejectionEmit(args[0], handled);
      return handled;
    };
    process.emit = wrapped as typeof process.emit;
    restoreEmit = () => {
      // Restored only when nobody wrapped it after us; otherwise the wrapper stays and passes through.
      if (process.emit === (wrapped as typeof process.emit)) process.emit = original;
    };
  }
  debug(`crash handlers installed (--unhandled-rejections=${mode})`);

  return () => {
    if (!installed) return;
    installed = false;
    process.removeListener("uncaughtExceptionMonitor", onMonitor);
    restoreEmit();
  };
}

export type FatalOutcome = "sent" | "spooled" | "lost";

export interface FatalDeliveryOptions {
  /** The submission URL (holds the token). */
  url: string;
  ignoreSslCertificate: boolean;
  /** Epoch milliseconds by which the process must go on ending (crash time + exitTimeout). */
  deadline: number;
  /** Where the report waits if it cannot be sent now; undefined when the spool is off. */
  spool: Pick<Spool, "writeSync" | "removeSync"> | undefined;
  debug?: ((message: string) => void) | undefined;
  now?: () => number;
  post?: (url: string, payload: Payload, options: BlockingPostOptions) => TransportResult;
}

/**
 * The fatal report's way out, all synchronous: to the spool first, then one POST while this
 * thread waits until `deadline`; the spool record is removed after a 2xx. A record left behind
 * is sent, with the same uuid, by the next client started with the same spool. Never throws.
 */
export function deliverFatal(payload: Payload, options: FatalDeliveryOptions): FatalOutcome {
  const now = options.now ?? Date.now;
  const debug = (message: string): void => {
    try {
      options.debug?.(message);
    } catch {
      // Debug output is best effort.
    }
  };
  let spooled = false;
  try {
    spooled = options.spool?.writeSync(payload) ?? false;
  } catch (error) {
    debug(`crash report ${payload.uuid}: spool write failed: ${errorText(error)}`);
  }
  const left = options.deadline - now();
  if (left <= 0) {
    debug(`crash report ${payload.uuid}: no time left to send it`);
    return spooled ? "spooled" : "lost";
  }
  let result: TransportResult;
  try {
    result = (options.post ?? postReportBlocking)(options.url, payload, {
      timeoutMs: left,
      ignoreSslCertificate: options.ignoreSslCertificate,
      now,
    });
  } catch (error) {
    result = { kind: "error", reason: errorText(error), timeout: false };
  }
  if (result.skipped !== undefined && result.skipped.length > 0) {
    debug(`crash report ${payload.uuid}: attachments skipped: ${result.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`);
  }
  // One try: whatever is not accepted stays in the spool, for the next start's replay to decide on.
  if (decide(result, { attempt: 1, maxAttempts: 1, trimmed: false }).action === "sent") {
    if (spooled) {
      try {
        options.spool?.removeSync(payload.uuid);
      } catch (error) {
        debug(`crash report ${payload.uuid}: sent, but the spool record stays: ${errorText(error)}`);
      }
    }
    debug(`crash report ${payload.uuid} sent`);
    return "sent";
  }
  debug(`crash report ${payload.uuid} not sent (${describeResult(result)}); ${spooled ? "it stays in the spool" : "there is no spool, it is lost"}`);
  return spooled ? "spooled" : "lost";
}
