// The spool replay pass: spooled records sent oldest first in free request slots, and the probe timer while the endpoint is down.
import { decide, describeResult } from "./decide.js";
import { backoffDelay, type RetryOptions } from "./retry.js";
import type { LossReason } from "../outcome.js";
import type { Spool, SpoolEntry } from "../spool/spool.js";
import type { TransportResult } from "../transport/post.js";
import type { Payload } from "../payload.js";

/** What a replay needs from delivery: its request slots, its clock, and what to do with each answer. */
export interface ReplayHost {
  spool: Spool | undefined;
  retry: RetryOptions;
  random: () => number;
  now: () => number;
  setTimer: (callback: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  debug: (message: string) => void;
  /** True when the delivery is closed or the endpoint stopped after a 401/403: nothing is replayed. */
  blocked(): boolean;
  /** Uuids held in memory; the queue sends those, not the replay. */
  busyUuids(): Set<string>;
  /** No request before this time (a Retry-After). */
  holdUntil(): number;
  /** Starts one request in a delivery slot; `done` frees the slot. */
  send(payload: Payload): { result: Promise<TransportResult>; done: () => void };
  /** A replayed record was accepted (counted); true when the endpoint had been failing until now. */
  replayed(): boolean;
  /** A transient failure: the endpoint is failing, and a Retry-After holds every request. */
  transient(result: TransportResult): void;
  /** A 401/403: sending to this endpoint stops (the replay is stopped through `stop`). */
  stopEndpoint(status: number): void;
  /** A much smaller body after a 413, or undefined when it cannot be made. */
  trim(payload: Payload): Payload | undefined;
  /** A record lost for good; `duplicates` is the occurrences it stood for when more than one. */
  drop(reason: LossReason, duplicates?: number): void;
  /** Lets delivery start more requests (a slot was freed or a pass began or ended). */
  pump(): void;
}

export interface Replay {
  /** Starts a pass (or returns the one running): lists the spool and sends what the queue does not hold. */
  run(): Promise<void>;
  /** Starts the next record of the current pass in a free slot; false when none is left. */
  startNext(): boolean;
  /** True while a pass runs. */
  running(): boolean;
  /** Records of the pass started and not in a request now (being read or removed): each holds a request slot. */
  slotsWithoutRequest(): number;
  /** Records were spooled while the endpoint answered: a pass should follow once the queue drains. */
  markDirty(): void;
  dirty(): boolean;
  /** After a report failed for good with a transient error: try the spool again later, with backoff. */
  scheduleProbe(): void;
  /** The endpoint answers again after failures: replay now. */
  endpointAnswered(): void;
  /** Ends the current pass (records left stay on disk) and cancels the probe. */
  stop(): void;
}

export function createReplay(host: ReplayHost): Replay {
  const { spool, retry, random, now, debug } = host;
  let entries: SpoolEntry[] = [];
  let active = 0;
  let inRequest = 0;
  let current: Promise<void> | undefined;
  let passDone: (() => void) | undefined;
  let passFailed = false;
  let probeTimer: unknown;
  let failures = 0;
  // Set when records were spooled while the endpoint was answering; a replay pass follows.
  let spoolDirty = false;

  const unref = (handle: unknown): unknown => {
    (handle as { unref?: () => void } | undefined)?.unref?.();
    return handle;
  };

  /** Ends the current pass when nothing of it is left to send or in flight. */
  function endIfDrained(): void {
    if (entries.length === 0 && active === 0) passDone?.();
  }

  function scheduleProbe(): void {
    if (!spool || host.blocked() || probeTimer !== undefined) return;
    failures += 1;
    const delay = Math.max(backoffDelay(failures, { ...retry, random }), host.holdUntil() - now());
    probeTimer = unref(
      host.setTimer(() => {
        probeTimer = undefined;
        void run();
      }, delay),
    );
  }

  async function replayOne(entry: SpoolEntry): Promise<void> {
    const payload = await spool?.read(entry);
    if (!payload || !spool) return;
    // The record is claimed: removed once sent or rejected, given back otherwise (for a later pass).
    let removed = false;
    try {
      removed = await sendRecord(spool, entry, payload);
    } finally {
      if (!removed) await spool.release(entry);
    }
  }

  /** Sends one claimed record; true when it was removed from the spool (sent, or rejected for good). */
  async function sendRecord(spool: Spool, entry: SpoolEntry, payload: Payload): Promise<boolean> {
    let sending = payload;
    let trimmed = false;
    for (;;) {
      if (host.blocked()) return false;
      const request = host.send(sending);
      inRequest += 1;
      let result: TransportResult;
      try {
        result = await request.result;
      } finally {
        inRequest -= 1;
      }
      request.done();
      // A record gets one try a pass: a transient failure ends the pass, and the record waits for the next.
      const decision = decide(result, { attempt: 1, maxAttempts: 1, trimmed });
      switch (decision.action) {
        case "sent":
          await spool.remove(entry);
          if (host.replayed()) failures = 0;
          return true;
        case "retry":
        case "keep":
          // The endpoint is down again: end this pass, keep the record, try again later.
          passFailed = true;
          entries = [];
          host.transient(result);
          return false;
        case "stop":
          host.stopEndpoint(decision.status);
          return false;
        case "trim": {
          const smaller = host.trim(sending);
          trimmed = true;
          if (smaller) {
            sending = smaller;
            continue;
          }
          await spool.remove(entry);
          debug(`spooled report ${payload.uuid} rejected: ${describeResult(result)}`);
          host.drop("too-large", payload.duplicates);
          return true;
        }
        case "drop":
          await spool.remove(entry);
          debug(`spooled report ${payload.uuid} rejected: ${describeResult(result)}`);
          host.drop(decision.reason, payload.duplicates);
          return true;
      }
    }
  }

  function startNext(): boolean {
    const entry = entries.shift();
    if (!entry) return false;
    active += 1;
    void replayOne(entry)
      .catch(() => undefined)
      .finally(() => {
        active -= 1;
        endIfDrained();
        host.pump();
      });
    return true;
  }

  function run(): Promise<void> {
    if (!spool || host.blocked()) return Promise.resolve();
    if (current) return current;
    host.clearTimer(probeTimer);
    probeTimer = undefined;
    spoolDirty = false;
    passFailed = false;
    const pass = (async () => {
      const listed = await spool.list();
      const busy = host.busyUuids();
      entries = listed.filter((entry) => !busy.has(entry.uuid));
      if (entries.length === 0 || host.blocked()) return;
      const done = new Promise<void>((resolve) => {
        passDone = resolve;
      });
      host.pump();
      await done;
    })()
      .catch((error: unknown) => debug(`replay failed: ${String(error)}`))
      .finally(() => {
        passDone = undefined;
        current = undefined;
        if (passFailed) scheduleProbe();
        host.pump();
      });
    current = pass;
    return pass;
  }

  function endpointAnswered(): void {
    failures = 0;
    debug("the endpoint answers again; replaying the spool");
    void run();
  }

  function stop(): void {
    entries = [];
    endIfDrained();
    host.clearTimer(probeTimer);
    probeTimer = undefined;
  }

  return {
    run,
    startNext,
    running: () => current !== undefined,
    slotsWithoutRequest: () => active - inRequest,
    markDirty: () => void (spoolDirty = true),
    dirty: () => spoolDirty,
    scheduleProbe,
    endpointAnswered,
    stop,
  };
}
