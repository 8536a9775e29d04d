// The main thread's side of the stall watchdog: a worker thread that pings the main loop when a stall may be on (the
// answer is written to shared memory), and tells the client, at the loop's next turn, of a stall it reported.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { lazyWorkers } from "../builtins.js";
import { ANSWERED, CONTEXT_KEY, HANDOVER_KEY, REPORTING, SLOTS, sinceBase, STOP, type WatchdogData, type WatchdogMessage } from "./stall-channel.js";

export interface StallOptions extends Omit<WatchdogData, "shared" | "base" | "thresholdMs" | "contextKey"> {
  thresholdSeconds: number;
  /** The main thread's breadcrumbs, scope and client values as JSON text: called on the paused main thread, by the watchdog. */
  context(): string;
  /** A reported stall ended, after `seconds` (called at the first turn of the main loop after it). */
  onEnded(seconds: number): void;
  debug?: ((message: string) => void) | undefined;
}

// The folder of the bundle that runs, set by the bundle's banner (scripts/build.mjs); undefined from the sources.
declare const __backtrace_ts_dir: string | undefined;

/** The main bundle's file, which the watchdog thread loads again; undefined when it is not there. */
function bundleFile(): string | undefined {
  const dir = typeof __backtrace_ts_dir === "string" ? __backtrace_ts_dir : undefined;
  if (dir === undefined) return undefined;
  const file = join(dir, "index.cjs");
  return existsSync(file) ? file : undefined;
}

/** The watchdog thread's code: the main bundle, loaded with the worker's data handed over (index.ts runs the watchdog then). */
function workerSource(file: string): string {
  return `globalThis[Symbol.for(${JSON.stringify(HANDOVER_KEY)})] = require("node:worker_threads").workerData; require(${JSON.stringify(file)});`;
}

/** Beyond the report's own timeout, how long a stall's report may hold an ending process: the pause and the build. */
const HOLD_EXTRA_MS = 3000;

/**
 * Starts the watchdog; returns the function that stops it, or undefined when no worker could start.
 * Never keeps the process alive, but for a stall's report on its way when the application's loop empties (until the
 * watchdog says it is out): the worker is unreferenced, and the main thread has no timer for it. The main
 * thread runs JavaScript for the watchdog only to answer a ping: on Linux when it is not waiting idle in its loop,
 * elsewhere when the process used CPU or every few thresholds.
 */
export function startStallWatchdog(options: StallOptions): (() => void) | undefined {
  const thresholdMs = Math.max(1, Math.round(options.thresholdSeconds * 1000));
  const shared = new SharedArrayBuffer(SLOTS * 4);
  const slots = new Int32Array(shared);
  const base = Math.floor(performance.timeOrigin + performance.now());
  const { thresholdSeconds: _t, context, onEnded, debug, ...network } = options;
  const data: WatchdogData = { ...network, shared, base, thresholdMs, contextKey: CONTEXT_KEY };
  let worker: Worker;
  try {
    const file = bundleFile();
    if (file === undefined) throw new Error("its bundle, index.cjs, is not where the library runs from (was the library bundled again?)");
    worker = new (lazyWorkers().Worker)(workerSource(file), { eval: true, name: "backtrace-ts stall watchdog", workerData: data, execArgv: [], stdout: true, stderr: true });
  } catch (error) {
    debug?.(`no stall watchdog: ${(error as Error).message}`);
    return undefined;
  }
  worker.on("error", (error) => debug?.(`stall watchdog failed: ${error.message}`));
  worker.on("message", (message: WatchdogMessage) => {
    if (typeof message === "number") {
      Atomics.store(slots, ANSWERED, message);
      // The watchdog may be waiting for this answer (it learns the idle loop's wait from how fast it comes).
      Atomics.notify(slots, ANSWERED);
      return;
    }
    if (message?.kind === "reported") return release();
    if (message?.kind !== "stalled") return;
    try {
      // This runs at the first turn of the loop after the stall: its end.
      onEnded(Math.round((sinceBase(base) - message.since) / 100) / 10);
    } catch {
      // Never into the application's loop.
    }
  });
  // After the listeners: a first 'message' listener refs the worker's port again.
  worker.unref();
  // A stall's report may still be on its way when the application's loop empties (a stall in a blocking call is read
  // once the call returned, and the application may have nothing left to do): the process is held open until the
  // watchdog says it is out, as it waits for its other reports; at most the report's timeout and HOLD_EXTRA_MS, whatever
  // the watchdog does. The hold is a timer: while it is on, the loop runs, and delivers the watchdog's messages.
  let held: NodeJS.Timeout | undefined;
  const release = (): void => {
    clearTimeout(held);
    held = undefined;
  };
  let gaveUp = false;
  const hold = (): void => {
    if (held !== undefined || gaveUp || Atomics.load(slots, REPORTING) === 0) return;
    held = setTimeout(() => {
      // Held once at most that long: the next beforeExit ends the process.
      gaveUp = true;
      debug?.("a stall's report was not out in time: the process ends without waiting for it (it is in the spool if it got there)");
      release();
    }, options.timeoutMs + HOLD_EXTRA_MS);
  };
  process.on("beforeExit", hold);
  // The watchdog evaluates this on the paused main thread, where the scope of the blocked code is current.
  (globalThis as Record<symbol, unknown>)[Symbol.for(CONTEXT_KEY)] = context;
  return () => {
    process.off("beforeExit", hold);
    release();
    Atomics.store(slots, STOP, 1);
    Atomics.notify(slots, STOP);
    // Only our own: a client started since (a second initialize()) put its own there, which its watchdog reads.
    const holder = globalThis as Record<symbol, unknown>;
    if (holder[Symbol.for(CONTEXT_KEY)] === context) delete holder[Symbol.for(CONTEXT_KEY)];
    worker.terminate().catch(() => undefined);
  };
}

/** A report's values as the watchdog wants them, as JSON text; values that do not serialize are left out, never thrown. */
export function stallContext(report: { getAttributes(): Record<string, unknown>; getAnnotations(): Record<string, unknown> }, breadcrumbs: () => unknown[]): string {
  const safe = (read: () => unknown): unknown => {
    try {
      return JSON.parse(JSON.stringify(read()) ?? "null") as unknown;
    } catch {
      return undefined;
    }
  };
  return JSON.stringify({ attributes: safe(() => report.getAttributes()), annotations: safe(() => report.getAnnotations()), breadcrumbs: safe(breadcrumbs) });
}
