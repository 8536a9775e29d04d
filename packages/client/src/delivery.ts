// Bounded in-memory queue, a concurrency limit over keep-alive connections, retries, spool overflow and replay, counters.
import { backoffDelay, classify, parseRetryAfter, retryDefaults, retryDelay, type RetryOptions } from "./retry.js";
import type { Spool, SpoolEntry } from "./spool.js";
import { createAgent, postReport, type Payload, type TransportResult } from "./transport.js";

export type SendOutcome =
  | { status: "sent"; uuid: string; rxid: string | undefined }
  | { status: "failed"; uuid: string; reason: string; httpStatus?: number; spooled: boolean; detail?: string }
  | { status: "dropped"; uuid: string; reason: string; detail?: string };

export interface DeliveryCounters {
  /** Reports the server accepted, replayed ones included. */
  sent: number;
  /** Retries made (a report sent three times counts two). */
  retried: number;
  /** Reports written to the spool by this delivery. */
  spooled: number;
  /** Spooled reports delivered and deleted from the spool. */
  replayed: number;
  /** submit() outcomes with status "failed" (spooled or not). */
  failed: number;
  /** Reports resent once with a trimmed body after a 413. */
  trimmed: number;
  /** Reports lost for good, by reason. */
  dropped: Record<string, number>;
  /** Reports waiting in memory (queued or in backoff). */
  queued: number;
  /** Requests in flight. */
  inFlight: number;
}

export interface DeliveryConfig {
  url: string;
  timeoutMs: number;
  ignoreSslCertificate: boolean;
  spool: Spool | undefined;
  queueSize?: number | undefined;
  concurrency?: number | undefined;
  /** Bytes of queue overflow waiting to be written to the spool; past it overflow is dropped. */
  maxPendingSpoolBytes?: number | undefined;
  retry?: Partial<RetryOptions> | undefined;
  /** Called once on a 413 to make a much smaller body; undefined means it cannot. */
  trim?: ((json: string) => string | undefined) | undefined;
  debug?: ((message: string) => void) | undefined;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  setTimeout?: ((callback: () => void, ms: number) => unknown) | undefined;
  clearTimeout?: ((handle: unknown) => void) | undefined;
}

export interface Delivery {
  /** Enqueues a payload; resolves when its fate is known. Never rejects. */
  submit(payload: Payload): Promise<SendOutcome>;
  /** True once nothing is pending (queue, backoff, requests, spool writes, replay); false at the deadline. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Sends spooled records oldest first at the same concurrency, deleting each after its 2xx. */
  replay(): Promise<void>;
  counters(): DeliveryCounters;
  /** Spools what is still pending, aborts requests, clears timers and destroys the agent. */
  close(): Promise<void>;
}

export const deliveryDefaults = {
  queueSize: 1000, // reports held in memory (queued, in backoff or in flight); overflow goes to the spool
  concurrency: 4, // requests in flight and keep-alive sockets; at most MAX_CONCURRENCY
  maxPendingSpoolBytes: 32 * 1024 * 1024, // overflow bytes waiting for the spool; past it overflow is dropped
  spoolWriters: 4, // spool writes running at once
};

export const MAX_CONCURRENCY = 8;

interface Job {
  payload: Payload;
  attempt: number;
  trimmed: boolean;
  resolve: (outcome: SendOutcome) => void;
  timer?: unknown;
}

function describe(result: TransportResult): string {
  return result.kind === "error" ? result.reason : `HTTP ${result.status}`;
}

function finalReason(status: number): string {
  return status === 400 ? "bad-request" : "rejected";
}

export function createDelivery(config: DeliveryConfig): Delivery {
  const queueSize = Math.max(1, config.queueSize ?? deliveryDefaults.queueSize);
  const concurrency = Math.min(MAX_CONCURRENCY, Math.max(1, config.concurrency ?? deliveryDefaults.concurrency));
  const maxPendingSpoolBytes = config.maxPendingSpoolBytes ?? deliveryDefaults.maxPendingSpoolBytes;
  const retry: RetryOptions = { ...retryDefaults, ...config.retry };
  const spool = config.spool?.enabled ? config.spool : undefined;
  const debug = config.debug ?? (() => undefined);
  const now = config.now ?? Date.now;
  const random = config.random ?? Math.random;
  const setTimer = config.setTimeout ?? ((callback: () => void, ms: number) => setTimeout(callback, ms));
  const clearTimer = config.clearTimeout ?? ((handle: unknown) => clearTimeout(handle as NodeJS.Timeout));
  const agent = createAgent(config.url, { maxSockets: concurrency, ignoreSslCertificate: config.ignoreSslCertificate });

  const counters = { sent: 0, retried: 0, spooled: 0, replayed: 0, failed: 0, trimmed: 0 };
  const dropped: Record<string, number> = {};

  // Jobs ready to send, FIFO; `head` avoids shifting a long array.
  let queue: Job[] = [];
  let head = 0;
  const waiting = new Set<Job>();
  const controllers = new Set<AbortController>();
  let active = 0;
  let activeJobs = 0;
  // Spool writes waiting for a writer slot, and how many run.
  const writeQueue: Array<() => Promise<void>> = [];
  let writers = 0;
  let pendingWrites = 0;
  let pendingWriteBytes = 0;

  let replayEntries: SpoolEntry[] = [];
  let replayActive = 0;
  let replayRun: Promise<void> | undefined;
  let replayDone: (() => void) | undefined;
  let replayFailed = false;
  let replayTimer: unknown;
  let replayFailures = 0;
  // Set when records were spooled while the endpoint was answering; a replay pass follows.
  let spoolDirty = false;

  let failing = false;
  let stopped = false;
  let closed = false;
  let holdUntil = 0;
  let holdTimer: unknown;
  let idleWaiters: Array<() => void> = [];

  const unref = (handle: unknown): unknown => {
    (handle as { unref?: () => void } | undefined)?.unref?.();
    return handle;
  };

  function drop(reason: string): void {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  }

  function queuedCount(): number {
    return queue.length - head + waiting.size;
  }

  function idle(): boolean {
    return queuedCount() === 0 && active === 0 && pendingWrites === 0 && replayRun === undefined;
  }

  function checkIdle(): void {
    if (idleWaiters.length === 0 || !idle()) return;
    const wake = idleWaiters;
    idleWaiters = [];
    for (const fn of wake) fn();
  }

  function takeJob(): Job | undefined {
    if (head >= queue.length) return undefined;
    const job = queue[head];
    queue[head] = undefined as unknown as Job;
    head += 1;
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return job;
  }

  function requeueFirst(job: Job): void {
    if (head > 0) queue[--head] = job;
    else queue.unshift(job);
  }

  // Spool writes go through a few writer slots so a burst cannot open thousands of files at once.
  function runWrites(): void {
    while (writers < deliveryDefaults.spoolWriters && writeQueue.length > 0) {
      const task = writeQueue.shift();
      if (!task) break;
      writers += 1;
      void task().finally(() => {
        writers -= 1;
        runWrites();
      });
    }
  }

  /** Writes the job's payload to the spool and settles it as failed (spooled) or, without room, dropped. */
  function spoolJob(job: Job, reason: string, detail: string, httpStatus?: number): void {
    const bytes = job.payload.json.length;
    const settle = (spooled: boolean): void => {
      counters.failed += 1;
      if (spooled) counters.spooled += 1;
      else drop(reason);
      const outcome: SendOutcome = { status: "failed", uuid: job.payload.uuid, reason, spooled, detail };
      if (httpStatus !== undefined) outcome.httpStatus = httpStatus;
      job.resolve(outcome);
    };
    if (!spool || pendingWriteBytes + bytes > maxPendingSpoolBytes) {
      if (spool) debug(`spool backlog full; report ${job.payload.uuid} dropped`);
      settle(false);
      checkIdle();
      return;
    }
    pendingWrites += 1;
    pendingWriteBytes += bytes;
    writeQueue.push(async () => {
      let ok = false;
      try {
        ok = await spool.write(job.payload);
      } catch {
        ok = false;
      }
      pendingWrites -= 1;
      pendingWriteBytes -= bytes;
      if (ok) spoolDirty = true;
      settle(ok);
      pump();
    });
    runWrites();
  }

  /** Ends the current replay pass when nothing of it is left to send or in flight. */
  function endReplayIfDrained(): void {
    if (replayEntries.length === 0 && replayActive === 0) replayDone?.();
  }

  function stopEndpoint(status: number): void {
    if (stopped) return;
    stopped = true;
    debug(
      `the server answered ${status} (token refused): sending to this endpoint stops until the client is initialized again; reports are kept in the spool`,
    );
    for (const job of waiting) clearTimer(job.timer);
    const pending = [...queue.slice(head), ...waiting];
    queue = [];
    head = 0;
    waiting.clear();
    for (const job of pending) spoolJob(job, "unauthorized", `HTTP ${status}`, status);
    replayEntries = [];
    endReplayIfDrained();
    clearTimer(replayTimer);
    replayTimer = undefined;
  }

  function hold(result: TransportResult): void {
    if (result.kind !== "response") return;
    const ms = parseRetryAfter(result.retryAfter, now(), retry.maxRetryAfterMs);
    if (ms !== undefined && ms > 0) holdUntil = Math.max(holdUntil, now() + ms);
  }

  function endpointAnswered(): void {
    if (!failing) return;
    failing = false;
    replayFailures = 0;
    debug("the endpoint answers again; replaying the spool");
    void replay();
  }

  function scheduleReplayProbe(): void {
    if (!spool || stopped || closed || replayTimer !== undefined) return;
    replayFailures += 1;
    const delay = Math.max(backoffDelay(replayFailures, { ...retry, random }), holdUntil - now());
    replayTimer = unref(
      setTimer(() => {
        replayTimer = undefined;
        void replay();
      }, delay),
    );
  }

  function trimmedPayload(job: Job): Payload | undefined {
    if (job.trimmed || !config.trim) return undefined;
    let smaller: string | undefined;
    try {
      smaller = config.trim(job.payload.json);
    } catch {
      smaller = undefined;
    }
    if (smaller === undefined || smaller.length >= job.payload.json.length) return undefined;
    counters.trimmed += 1;
    return { uuid: job.payload.uuid, json: smaller, attachments: [] };
  }

  function handle(job: Job, result: TransportResult): void {
    if (result.skipped) {
      debug(`report ${job.payload.uuid}: attachments skipped: ${result.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`);
    }
    if (closed) return spoolJob(job, "closed", describe(result));
    const status = result.kind === "response" ? result.status : undefined;
    switch (classify(result)) {
      case "sent":
        counters.sent += 1;
        job.resolve({ status: "sent", uuid: job.payload.uuid, rxid: result.kind === "response" ? result.rxid : undefined });
        endpointAnswered();
        return;
      case "retry":
        failing = true;
        hold(result);
        if (job.attempt < retry.maxAttempts) {
          counters.retried += 1;
          const delay = retryDelay(job.attempt, result.kind === "response" ? result.retryAfter : undefined, { ...retry, random, now: now() });
          waiting.add(job);
          job.timer = unref(
            setTimer(() => {
              if (!waiting.delete(job)) return;
              requeueFirst(job);
              pump();
            }, delay),
          );
          return;
        }
        debug(`report ${job.payload.uuid} not delivered after ${job.attempt} attempts (${describe(result)})`);
        spoolJob(job, "retries-exhausted", describe(result), status);
        scheduleReplayProbe();
        return;
      case "too-large": {
        const smaller = trimmedPayload(job);
        if (smaller) {
          job.payload = smaller;
          job.trimmed = true;
          requeueFirst(job);
          return;
        }
        return settleLost(job, "too-large", describe(result), status);
      }
      case "stop-endpoint":
        stopEndpoint(status ?? 0);
        return spoolJob(job, "unauthorized", describe(result), status);
      case "final":
        debug(`report ${job.payload.uuid} rejected: ${describe(result)} ${result.kind === "response" ? result.body.slice(0, 200) : ""}`);
        return settleLost(job, finalReason(status ?? 0), describe(result), status);
    }
  }

  function settleLost(job: Job, reason: string, detail: string, httpStatus: number | undefined): void {
    counters.failed += 1;
    drop(reason);
    const outcome: SendOutcome = { status: "failed", uuid: job.payload.uuid, reason, spooled: false, detail };
    if (httpStatus !== undefined) outcome.httpStatus = httpStatus;
    job.resolve(outcome);
  }

  function send(payload: Payload): { result: Promise<TransportResult>; done: () => void } {
    const controller = new AbortController();
    controllers.add(controller);
    active += 1;
    const result = postReport(config.url, payload, {
      timeoutMs: config.timeoutMs,
      ignoreSslCertificate: config.ignoreSslCertificate,
      agent,
      signal: controller.signal,
    });
    return {
      result,
      done: () => {
        controllers.delete(controller);
        active -= 1;
      },
    };
  }

  function startJob(job: Job): void {
    job.attempt += 1;
    activeJobs += 1;
    const request = send(job.payload);
    void request.result
      .then((result) => {
        request.done();
        activeJobs -= 1;
        try {
          handle(job, result);
        } catch (error) {
          settleLost(job, "internal-error", String(error), undefined);
        }
      })
      .finally(pump);
  }

  async function replayOne(entry: SpoolEntry): Promise<void> {
    const payload = await spool?.read(entry);
    if (!payload || !spool) return;
    let job: Job = { payload, attempt: 0, trimmed: false, resolve: () => undefined };
    for (;;) {
      if (closed || stopped) return;
      const request = send(job.payload);
      const result = await request.result;
      request.done();
      const kind = classify(result);
      if (kind === "sent") {
        await spool.remove(entry);
        counters.sent += 1;
        counters.replayed += 1;
        if (failing) {
          failing = false;
          replayFailures = 0;
        }
        return;
      }
      if (kind === "retry") {
        // The endpoint is down again: end this pass, keep the record, try again later.
        failing = true;
        replayFailed = true;
        replayEntries = [];
        hold(result);
        return;
      }
      if (kind === "stop-endpoint") {
        stopEndpoint(result.kind === "response" ? result.status : 0);
        return;
      }
      if (kind === "too-large") {
        const smaller = trimmedPayload(job);
        if (smaller) {
          job = { ...job, payload: smaller, trimmed: true };
          continue;
        }
      }
      await spool.remove(entry);
      const reason = kind === "too-large" ? "too-large" : finalReason(result.kind === "response" ? result.status : 0);
      debug(`spooled report ${payload.uuid} rejected: ${describe(result)}`);
      drop(reason);
      return;
    }
  }

  function startReplay(entry: SpoolEntry): void {
    replayActive += 1;
    void replayOne(entry)
      .catch(() => undefined)
      .finally(() => {
        replayActive -= 1;
        endReplayIfDrained();
        pump();
      });
  }

  function armHold(): void {
    if (holdTimer !== undefined) return;
    holdTimer = unref(
      setTimer(() => {
        holdTimer = undefined;
        pump();
      }, holdUntil - now()),
    );
  }

  function pump(): void {
    while (!closed && !stopped && active < concurrency) {
      if (now() < holdUntil) {
        armHold();
        break;
      }
      const job = takeJob();
      if (job) {
        startJob(job);
        continue;
      }
      if (waiting.size > 0) break; // retries go before the spool
      const entry = replayEntries.shift();
      if (entry) {
        startReplay(entry);
        continue;
      }
      break;
    }
    if (spoolDirty && !failing && !stopped && !closed && queuedCount() === 0 && replayRun === undefined) void replay();
    checkIdle();
  }

  function replay(): Promise<void> {
    if (!spool || stopped || closed) return Promise.resolve();
    if (replayRun) return replayRun;
    clearTimer(replayTimer);
    replayTimer = undefined;
    spoolDirty = false;
    replayFailed = false;
    const run = (async () => {
      const entries = await spool.list();
      const busy = new Set([...queue.slice(head), ...waiting].map((job) => job.payload.uuid));
      replayEntries = entries.filter((entry) => !busy.has(entry.uuid));
      if (replayEntries.length === 0 || closed || stopped) return;
      const done = new Promise<void>((resolve) => {
        replayDone = resolve;
      });
      pump();
      await done;
    })()
      .catch((error: unknown) => debug(`replay failed: ${String(error)}`))
      .finally(() => {
        replayDone = undefined;
        replayRun = undefined;
        if (replayFailed) scheduleReplayProbe();
        pump();
      });
    replayRun = run;
    return run;
  }

  function submit(payload: Payload): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      const job: Job = { payload, attempt: 0, trimmed: false, resolve };
      try {
        if (closed) return spoolJob(job, "closed", "delivery closed");
        if (stopped) return spoolJob(job, "unauthorized", "endpoint stopped after 401/403");
        if (queuedCount() + activeJobs >= queueSize) return spoolJob(job, "queue-full", "in-memory queue full");
        queue.push(job);
        pump();
      } catch (error) {
        drop("internal-error");
        resolve({ status: "dropped", uuid: payload.uuid, reason: "internal-error", detail: String(error) });
      }
    });
  }

  function flush(timeoutMs: number): Promise<boolean> {
    if (idle()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      // This timer is left referenced on purpose: a flush keeps the process alive until its deadline.
      const timer = setTimer(() => {
        idleWaiters = idleWaiters.filter((fn) => fn !== wake);
        resolve(false);
      }, Math.max(0, timeoutMs));
      const wake = (): void => {
        clearTimer(timer);
        resolve(true);
      };
      idleWaiters.push(wake);
    });
  }

  function readCounters(): DeliveryCounters {
    const all = { ...dropped };
    const fromSpool = spool?.counters();
    if (fromSpool?.evicted) all["spool-full"] = (all["spool-full"] ?? 0) + fromSpool.evicted;
    if (fromSpool?.corrupt) all["spool-corrupt"] = (all["spool-corrupt"] ?? 0) + fromSpool.corrupt;
    return { ...counters, dropped: all, queued: queuedCount(), inFlight: active };
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimer(holdTimer);
    clearTimer(replayTimer);
    holdTimer = undefined;
    replayTimer = undefined;
    for (const job of waiting) clearTimer(job.timer);
    const pending = [...queue.slice(head), ...waiting];
    queue = [];
    head = 0;
    waiting.clear();
    replayEntries = [];
    endReplayIfDrained();
    for (const job of pending) spoolJob(job, "closed", "delivery closed");
    for (const controller of controllers) controller.abort();
    // Aborted requests settle at once and their jobs are spooled; wait for that and the spool writes.
    await new Promise<void>((resolve) => {
      if (idle()) resolve();
      else idleWaiters.push(resolve);
    });
    agent.destroy();
  }

  return { submit, flush, replay, counters: readCounters, close };
}
