// What the main thread and the stall watchdog share: the stop flag and the last ping the main thread answered, in shared
// memory; the messages between them; `LoopWatch`, how the watchdog tells a stalled loop from an idle or a busy one.

/** Int32 slots of the shared buffer. */
export const STOP = 0; // 1 once the watchdog must end; the watchdog sleeps on this slot
export const ANSWERED = 1; // the last ping the main thread answered (from its event loop)
export const REPORTING = 2; // 1 from a stall's detection until its report is out: the main thread's loop must not end meanwhile
export const SLOTS = 3;

/** The global the watchdog thread's own code puts its data under before it loads the bundle (see stall.ts). */
export const HANDOVER_KEY = "backtrace-ts.stall-watchdog";

/**
 * In the watchdog's thread, the bundle is loaded by the thread's own code (stall.ts), which left its data under
 * HANDOVER_KEY: that data, taken away. Anywhere else nothing is there: undefined.
 */
export function takeHandedOver(): WatchdogData | undefined {
  const holder = globalThis as Record<symbol, unknown>;
  const handedOver = holder[Symbol.for(HANDOVER_KEY)];
  if (handedOver === undefined) return undefined;
  delete holder[Symbol.for(HANDOVER_KEY)];
  return handedOver as WatchdogData;
}

/** What the main thread hands the watchdog. */
export interface WatchdogData {
  shared: SharedArrayBuffer;
  /** Epoch ms the times below count from (performance.timeOrigin + performance.now(), the same clock in both threads). */
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

/** Messages from the watchdog to the main thread, which Node delivers when the main loop turns. */
export type WatchdogMessage =
  /** A ping, its sequence number alone (the cheapest message to send and read): answered by writing it to ANSWERED, which says the loop turned after it was sent. */
  | number
  /** A stall was found; delivered at the main loop's first turn after it, which is its end. `since`: ms since base. */
  | { kind: "stalled"; since: number }
  /** The stall's report is out (sent, spooled or given up on); REPORTING is 0 again before this is sent. */
  | { kind: "reported" };

/** Without the main thread's syscall file, an idle look pings it at least once in this many thresholds (stalls that use no CPU: blocking calls). */
export const QUIET_LOOKS = 4;
/** Without that file, a threshold in which the process used more than this share of it in CPU may hide a stall: the main thread is pinged. */
export const BUSY_SHARE = 0.05;

/** A look with nothing to do: one shared object, not one made per look. */
const NOTHING: Look = Object.freeze({});

export interface Look {
  /** Send this ping now. */
  ping?: number;
  /** A stall: the loop has not turned for this long (at least the threshold) since `since`. */
  stalledMs?: number;
  since?: number;
}

/**
 * What the watchdog decides at each look (once per threshold). A ping the main thread has not answered for a whole
 * threshold is a stall (the loop has certainly not turned for that long), reported once until it is answered. After
 * an answered ping, `quiet` says whether the main thread is surely not stalled now (waiting idle in its own loop);
 * when it is not sure, another ping goes out.
 */
export class LoopWatch {
  private sent = 0;
  private sentAt = 0;
  private reported = false;

  constructor(private readonly thresholdMs: number) {}

  /** The first ping, when the watchdog starts. */
  start(now: number): number {
    this.sent = 1;
    this.sentAt = now;
    return this.sent;
  }

  /**
   * The look after a wait. `clock` (ms since base) is read only when the look needs the time: an idle look (no ping out,
   * the main thread quiet) is what an idle process pays at every threshold, and does the least it can.
   */
  look(answered: number, quiet: () => boolean, clock: () => number): Look {
    if (answered < this.sent) {
      if (this.reported) return NOTHING;
      const now = clock();
      if (now - this.sentAt < this.thresholdMs) return NOTHING;
      this.reported = true;
      return { stalledMs: now - this.sentAt, since: this.sentAt };
    }
    this.reported = false;
    if (quiet()) return NOTHING;
    this.sent++;
    this.sentAt = clock();
    return { ping: this.sent };
  }

  /** ms until the next look: a threshold after the ping while one is out, else a threshold (the clock is then not read). */
  wait(answered: number, clock: () => number): number {
    return answered < this.sent && !this.reported ? Math.max(1, this.sentAt + this.thresholdMs - clock()) : this.thresholdMs;
  }
}

/**
 * `quiet` where the main thread cannot be read (see process/main-thread-probe.ts): from the CPU the whole process used
 * since the last call. A stall running JavaScript burns a core; one in a blocking call uses no CPU, so every
 * QUIET_LOOKS-th look is never quiet.
 */
export class QuietByCpu {
  private looks = 0;

  constructor(private readonly thresholdMs: number) {}

  quiet(cpuMs: number): boolean {
    if (cpuMs < this.thresholdMs * BUSY_SHARE && ++this.looks < QUIET_LOOKS) return true;
    this.looks = 0;
    return false;
  }
}

/** The global key of the main thread's context function, read by the watchdog through the inspector. */
export const CONTEXT_KEY = "backtrace-ts.stall-context";

/** Milliseconds since `base` on a clock shared by every thread of the process. */
export function sinceBase(base: number): number {
  return Math.floor(performance.timeOrigin + performance.now() - base);
}
