// The shared memory between the main thread and the stall watchdog: the main thread's last turn of its loop, and the watchdog's stall in progress.

/** Int32 slots of the shared buffer. */
export const STAMP = 0; // ms since `base` of the main thread's last stamp
export const STOP = 1; // 1 once the watchdog must end; the watchdog sleeps on this slot
export const STALLED = 2; // 1 while a reported stall has not ended (the main thread clears it)
export const STALL_STAMP = 3; // the STAMP value the reported stall started from
export const SLOTS = 4;

/** The global the watchdog thread's own code puts its data under before it loads the bundle (see stall.ts). */
export const HANDOVER_KEY = "backtrace-ts.stall-watchdog";

/** What the main thread hands the watchdog. */
export interface WatchdogData {
  shared: SharedArrayBuffer;
  /** Epoch ms the stamps count from (performance.timeOrigin + performance.now(), the same clock in both threads). */
  base: number;
  thresholdMs: number;
  url: string;
  ignoreSslCertificate: boolean;
  proxy: string | false | undefined;
  ca: string | undefined;
  timeoutMs: number;
  spoolDir: string | undefined;
  /** The client's checked options without what cannot cross threads (beforeSend, attribute values: those come from the main thread when it is paused). */
  options: Record<string, unknown>;
  /** The global symbol under which the main thread keeps the function that describes its context. */
  contextKey: string;
}

/** The global key of the main thread's context function, read by the watchdog through the inspector. */
export const CONTEXT_KEY = "backtrace-ts.stall-context";

/** Milliseconds since `base` on a clock shared by every thread of the process. */
export function sinceBase(base: number): number {
  return Math.floor(performance.timeOrigin + performance.now() - base);
}
