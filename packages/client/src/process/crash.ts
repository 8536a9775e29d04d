// Process hooks for uncaught exceptions and unhandled rejections: which ones end the process, and which client hears of them.
import { errorText } from "../errors.js";

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
 * before raising it (throw and strict mode); the reason's text is taken back out of its message.
 */
function originalReason(error: unknown): unknown {
  let wrapped = false;
  let message = "";
  try {
    wrapped = error instanceof Error && (error as NodeJS.ErrnoException).code === "ERR_UNHANDLED_REJECTION";
    message = wrapped ? (error as Error).message : "";
  } catch {
    return error;
  }
  if (!wrapped) return error;
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
 * - `throw` and `strict` mode need nothing else: no wrapper, no listener, so no frame of the library
 *   ever stands in a stack Node prints.
 * - `warn` and `none` mode: an `unhandledRejection` listener, which Node ignores in these modes (it
 *   warns always, or never); it reports a rejection when no other listener handles it.
 * - `warn-with-error-code` mode: a listener would count as handling, so `process.emit` is wrapped,
 *   returning the original's result unchanged; a rejection no listener handled goes to `onNonFatal`.
 *   This is the one mode where an error thrown inside a listener of another process event shows the
 *   wrapper as one more stack frame.
 *
 * No `uncaughtException` or signal listener is added, and nothing changes what Node does. Errors
 * thrown by the hooks are caught and given to `debug`.
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

  const onMonitor = (error: unknown, origin: string): void => {
    if (!installed) return;
    try {
      const kind: CrashKind = origin === "unhandledRejection" ? "Unhandled rejection" : "Unhandled exception";
      const value = kind === "Unhandled rejection" ? originalReason(error) : error;
      if (processWillEnd()) each((hooks) => hooks.onFatal(value, kind), "crash report");
      else each((hooks) => hooks.onNonFatal(value, kind), "crash report");
    } catch (failure) {
      debug(`crash handler failed: ${errorText(failure)}`);
    }
  };
  process.on("uncaughtExceptionMonitor", onMonitor);

  const nonFatalRejection = (reason: unknown): void => {
    if (!installed) return;
    try {
      each((hooks) => hooks.onNonFatal(reason, "Unhandled rejection"), "rejection report");
    } catch (failure) {
      debug(`rejection handler failed: ${errorText(failure)}`);
    }
  };

  // How a rejection nobody handles is seen, mode by mode, without changing what Node does (see the doc above).
  let remove = (): void => undefined;
  if (mode === "warn" || mode === "none") {
    // Node ignores whether an 'unhandledRejection' listener exists in these modes (it always warns, or never
    // does), so a listener changes nothing; it reports only when it is the only one (nobody else handles it).
    const listener = (reason: unknown): void => {
      if (process.listenerCount("unhandledRejection") === 1) nonFatalRejection(reason);
    };
    process.on("unhandledRejection", listener);
    remove = () => void process.removeListener("unhandledRejection", listener);
  } else if (mode === "warn-with-error-code") {
    // Here a listener would count as handling the rejection (no warning, no exit code): only the return
    // value of the emit tells whether anyone did, so process.emit is wrapped, passing everything through.
    const original = process.emit;
    const wrapped = function emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
      const handled = (original as (...a: unknown[]) => boolean).call(this, event, ...args);
      if (event === "unhandledRejection" && !handled) nonFatalRejection(args[0]);
      return handled;
    };
    process.emit = wrapped as typeof process.emit;
    remove = () => {
      // Restored only when nobody wrapped it after us; otherwise the wrapper stays and passes through.
      if (process.emit === (wrapped as typeof process.emit)) process.emit = original;
    };
  }
  debug(`crash handlers installed (--unhandled-rejections=${mode})`);

  return () => {
    if (!installed) return;
    installed = false;
    process.removeListener("uncaughtExceptionMonitor", onMonitor);
    remove();
  };
}
