// Reports waiting to be built: built in slices that yield to the event loop, no faster than delivery takes them.
import type { DropReason, SendOutcome } from "../outcome.js";
import type { BacktraceReport } from "../capture/report.js";
import type { Payload } from "../payload.js";

export interface PipelineConfig {
  /** Builds a report's payload; undefined means beforeSend dropped it. May throw. */
  prepare(report: BacktraceReport): Promise<Payload | undefined>;
  /** Hands a payload to delivery; resolves when it is settled (sent, spooled or dropped). */
  submit(payload: Payload): Promise<SendOutcome>;
  /** A report that will not be delivered, and why; returns its outcome. */
  discard(report: BacktraceReport, reason: DropReason): SendOutcome;
  /** A report whose building threw; settles it. */
  fail(report: BacktraceReport, error: unknown, resolve: (o: SendOutcome) => void, reject: (e: unknown) => void): void;
  /** Payloads built ahead of delivery; past this, building waits (bounded memory under bursts). */
  buildAhead: number;
  /**
   * Reports held in memory (unbuilt, and in delivery's hands) while building waits; past this, building goes on
   * and delivery spools the overflow. Asked each time: it is smaller while the endpoint fails.
   */
  holdLimit(): number;
  /** Hard cap on unbuilt reports; past this, new reports are dropped and counted. */
  maxBacklog: number;
  /**
   * Milliseconds building waits when it starts on a report that may take duplicates (storm control's window);
   * 0 starts at once. `idle()`, `takeAll()` and a backlog of `buildAhead` cut the wait short.
   */
  windowMs?: number;
}

export const pipelineDefaults = {
  /** Milliseconds of building done in one turn of the event loop before yielding. */
  sliceMs: 4,
} as const;

interface Pending {
  report: BacktraceReport;
  resolve: (outcome: SendOutcome) => void;
  reject: (error: unknown) => void;
  /** Taken by `takeAll` while it was being built: its build result is no longer wanted. */
  taken?: boolean;
  /** The duplicate fingerprint it waits under, while it waits. */
  key?: string | undefined;
  /** Makes the fingerprint when a possible duplicate first comes (none is made while nothing else waits). */
  keyOf?: (() => string | undefined) | undefined;
  /** Taken off the backlog to be built: it takes no more duplicates. */
  started?: boolean;
  /** What `push` returned: merged duplicates settle with it. */
  outcome?: Promise<SendOutcome>;
}

export interface Pipeline {
  /** Queues a report for building and delivery; cheap, synchronous. With a `key`, later duplicates may merge into it while it waits. */
  push(report: BacktraceReport, key?: string | (() => string | undefined)): Promise<SendOutcome>;
  /**
   * Counts one more occurrence (at `at`, seconds) in the report waiting to be built under `key`; that report and
   * its outcome, or undefined when none waits (the one being built takes no more).
   */
  merge(key: string, at: number): { report: BacktraceReport; outcome: Promise<SendOutcome> } | undefined;
  /** Resolves when no report is waiting to be built (they are then in delivery's hands). */
  idle(): Promise<void>;
  /** Reports not built yet, waiting. */
  waiting(): number;
  /** Reports not in delivery's hands yet: waiting, and the one being built. */
  pending(): number;
  /** Takes every unbuilt report out, for the exit path to build and spool synchronously. */
  takeAll(): Array<{ report: BacktraceReport; settle: (outcome: SendOutcome) => void }>;
}

export function createPipeline(config: PipelineConfig): Pipeline {
  let backlog: Pending[] = [];
  let head = 0;
  let running: Promise<void> | undefined;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  /** While building waits out the window: the timer, and what starts it now. */
  let windowTimer: NodeJS.Timeout | undefined;
  let windowGo: (() => void) | undefined;
  /** The report being built right now (between `prepare` starting and its payload reaching delivery). */
  let building: Pending | undefined;
  /** Reports waiting to be built, by duplicate fingerprint. */
  const byKey = new Map<string, Pending>();
  const unkeyed: Pending[] = [];

  const waiting = (): number => backlog.length - head;

  function settled(): void {
    outstanding--;
    if (wake && outstanding < config.buildAhead) {
      const resume = wake;
      wake = undefined;
      resume();
    }
  }

  async function run(): Promise<void> {
    let sliceStart = performance.now();
    while (waiting() > 0) {
      while (outstanding >= config.buildAhead && waiting() + outstanding < config.holdLimit()) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const item = backlog[head];
      if (!item) break;
      backlog[head++] = undefined as unknown as Pending;
      item.started = true;
      // Its count is read when it is built: from now on a duplicate starts a report of its own.
      if (item.key !== undefined && byKey.get(item.key) === item) byKey.delete(item.key);
      building = item;
      try {
        const payload = await config.prepare(item.report);
        building = undefined;
        if (item.taken) continue;
        if (payload === undefined) {
          item.resolve(config.discard(item.report, "before-send"));
        } else {
          outstanding++;
          config.submit(payload).then(
            (outcome) => {
              settled();
              item.resolve(outcome);
            },
            (error: unknown) => {
              settled();
              config.fail(item.report, error, item.resolve, item.reject);
            },
          );
        }
      } catch (error) {
        building = undefined;
        if (!item.taken) config.fail(item.report, error, item.resolve, item.reject);
      }
      if (performance.now() - sliceStart > pipelineDefaults.sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }

  /** Ends the window's wait: building starts on the next turn of the loop. */
  function hurry(): void {
    const go = windowGo;
    if (go === undefined) return;
    windowGo = undefined;
    clearTimeout(windowTimer);
    windowTimer = undefined;
    setImmediate(go);
  }

  function begin(resolve: () => void): void {
    const first = backlog[head];
    const windowMs = config.windowMs ?? 0;
    if (windowMs <= 0 || first === undefined || (first.key === undefined && first.keyOf === undefined)) {
      setImmediate(resolve);
      return;
    }
    windowGo = resolve;
    // Unreferenced: a report waiting out its window never keeps the process up (the exit path flushes it).
    windowTimer = setTimeout(hurry, windowMs);
    windowTimer.unref();
    // While it waits, its fingerprint is made off the caller's path (after this turn's code), so that the next
    // capture, should it be a duplicate, pays for its own fingerprint only; a loop of captures makes it sooner.
    setImmediate(keyWaiting);
  }

  /** Reports pushed while nothing else waited get their fingerprints, once: in a window's first turn, or when one may match. */
  function keyWaiting(): void {
    for (const waitingItem of unkeyed.splice(0)) {
      if (waitingItem.started || waitingItem.taken) continue;
      let own: string | undefined;
      try {
        own = waitingItem.keyOf?.();
      } catch {
        own = undefined;
      }
      waitingItem.key = own;
      if (own !== undefined && !byKey.has(own)) byKey.set(own, waitingItem);
    }
  }

  function start(): void {
    running ??= new Promise<void>(begin)
      .then(run)
      .finally(() => {
        running = undefined;
        if (waiting() > 0) start();
        else if (head > 0) {
          backlog = [];
          head = 0;
        }
      });
  }

  /**
   * The built reports' slots at the front go, once they are most of the backlog. Done as reports come, never in the
   * building loop: code that loop meets only after a thousand reports would make V8 compile the loop again.
   */
  function compact(): void {
    if (head > 1024 && head * 2 > backlog.length) {
      backlog = backlog.slice(head);
      head = 0;
    }
  }

  return {
    push(report, key) {
      if (waiting() >= config.maxBacklog) return Promise.resolve(config.discard(report, "backlog-full"));
      let item: Pending | undefined;
      const outcome = new Promise<SendOutcome>((resolve, reject) => {
        item = typeof key === "function" ? { report, resolve, reject, keyOf: key } : { report, resolve, reject, key };
        compact();
        backlog.push(item);
        // Distinct reports enough to build: the window has nothing more to gain.
        if (windowGo && waiting() >= config.buildAhead) hurry();
        // Past the limit, building resumes at once instead of waiting for delivery to settle a report.
        if (wake && waiting() + outstanding >= config.holdLimit()) {
          const resume = wake;
          wake = undefined;
          resume();
        }
        start();
      });
      if (item) item.outcome = outcome;
      if (typeof key === "string" && item) byKey.set(key, item);
      else if (key !== undefined && item) {
        // Those built meanwhile need no fingerprint any more.
        if (unkeyed.length >= 1024) unkeyed.splice(0, unkeyed.length, ...unkeyed.filter((waitingItem) => !waitingItem.started && !waitingItem.taken));
        unkeyed.push(item);
      }
      return outcome;
    },
    merge(key, at) {
      keyWaiting();
      const item = byKey.get(key);
      if (!item?.outcome || item.taken) return undefined;
      const { report } = item;
      const counted = (report.duplicates ??= { count: 1, first: report.timestamp, last: report.timestamp });
      counted.count += 1;
      if (at > counted.last) counted.last = at;
      if (at < counted.first) counted.first = at;
      return { report, outcome: item.outcome };
    },
    async idle() {
      hurry();
      while (running) {
        await running;
        hurry();
      }
    },
    waiting,
    pending: () => waiting() + (building && !building.taken ? 1 : 0),
    takeAll() {
      hurry();
      const items = backlog.slice(head);
      if (building && !building.taken) items.unshift(building);
      for (const item of items) item.taken = true;
      backlog = [];
      head = 0;
      byKey.clear();
      unkeyed.length = 0;
      return items.map((item) => ({ report: item.report, settle: item.resolve }));
    },
  };
}
