// Delivery of finished reports: the bounded queue, retries, what each answer means, spool overflow, outcomes and counters.
import { createJobQueue } from "./job-queue.js";
import { decide, describeResult as describe, safeLocation, type StopReason } from "./decide.js";
import { createReplay } from "./replay.js";
import { createRequests } from "./requests.js";
import { deliveryDefaults, retryDefaults } from "../defaults.js";
import { timerMs } from "../timers.js";
import { retryDelay, type RetryOptions } from "./retry.js";
import type { Spool } from "../spool/spool.js";
import { createSpoolWrites } from "./spool-writes.js";
import { withSpoolLosses, zeroCounts } from "./counters.js";
import { jsonBody, jsonText, mergedBeyondOwn, type JsonBody } from "../payload.js";
import type { NetworkOptions, TransportResult } from "../transport/post.js";
import type { Payload } from "../payload.js";
import type { DeliveryCounters, FailReason, LossReason, SendOutcome } from "../outcome.js";

export interface DeliveryConfig extends NetworkOptions {
  url: string;
  timeoutMs: number;
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
  /** True while the endpoint fails (transient errors, or stopped after 401/403/407): reports pile up. */
  failing(): boolean;
  /** Spools what is still pending, aborts requests, clears timers and destroys the agent. */
  close(): Promise<void>;
  /**
   * For the process 'exit' event: writes every report still in memory (queued, in backoff, in flight,
   * waiting for its spool write) to the spool synchronously, for the next start to replay with the same
   * uuid. Returns how many were written (counted as spooled). What is not written (no spool, a failed write) is lost
   * with the process and counted now, since its outcome never settles after 'exit': `dropped.exit`, and the
   * occurrences merged into it in `mergedLost`. Changes nothing else.
   */
  spoolPendingSync(): number;
}

/** One report on its way: its payload (trimmed after a 413), tries so far, and how to settle it. */
interface Job {
  payload: Payload;
  attempt: number;
  trimmed: boolean;
  resolve: (outcome: SendOutcome) => void;
  timer?: unknown;
}

export function createDelivery(config: DeliveryConfig): Delivery {
  const queueSize = Math.max(1, config.queueSize ?? deliveryDefaults.queueSize);
  const concurrency = Math.min(deliveryDefaults.maxConcurrency, Math.max(1, config.concurrency ?? deliveryDefaults.concurrency));
  const maxPendingSpoolBytes = config.maxPendingSpoolBytes ?? deliveryDefaults.maxPendingSpoolBytes;
  const retry: RetryOptions = { ...retryDefaults, ...config.retry };
  const spool = config.spool?.enabled ? config.spool : undefined;
  const debug = config.debug ?? (() => undefined);
  const now = config.now ?? Date.now;
  const random = config.random ?? Math.random;
  const setTimer = config.setTimeout ?? ((callback: () => void, ms: number) => setTimeout(callback, ms));
  const clearTimer = config.clearTimeout ?? ((handle: unknown) => clearTimeout(handle as NodeJS.Timeout));

  const counters = zeroCounts();
  const dropped: Partial<Record<LossReason, number>> = {};
  /** Occurrences merged into replayed records that were dropped, beyond each record's own. */
  let mergedLost = 0;

  const jobs = createJobQueue<Job>(clearTimer);
  const requests = createRequests({
    url: config.url,
    timeoutMs: config.timeoutMs,
    ignoreSslCertificate: config.ignoreSslCertificate,
    proxy: config.proxy,
    ca: config.ca,
    maxSockets: concurrency,
    maxRetryAfterMs: retry.maxRetryAfterMs,
    now,
    setTimer,
    clearTimer,
    onHoldEnd: pump,
  });
  const writes = createSpoolWrites(spool, maxPendingSpoolBytes, deliveryDefaults.spoolWriters);

  let failing = false;
  /** Why sending stopped (a refused token or refused proxy credentials), once it has. */
  let stopped: { reason: StopReason; status: number } | undefined;
  let closed = false;
  let idleWaiters: Array<() => void> = [];

  const unref = (handle: unknown): unknown => {
    (handle as { unref?: () => void } | undefined)?.unref?.();
    return handle;
  };

  const replayer = createReplay({
    spool,
    retry,
    random,
    now,
    setTimer,
    clearTimer,
    debug,
    blocked: () => stopped !== undefined || closed,
    busyUuids: () => new Set(jobs.pending().map((job) => job.payload.uuid)),
    holdUntil: requests.holdUntil,
    send: requests.send,
    replayed: () => {
      counters.sent += 1;
      counters.replayed += 1;
      if (!failing) return false;
      failing = false;
      return true;
    },
    transient,
    stopEndpoint,
    trim: smallerPayload,
    drop: (reason, duplicates) => {
      drop(reason);
      mergedLost += mergedBeyondOwn(duplicates);
    },
    pump,
  });

  function drop(reason: LossReason): void {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  }

  function idle(): boolean {
    return jobs.queued() === 0 && requests.active() === 0 && writes.pending() === 0 && !replayer.running();
  }

  function checkIdle(): void {
    if (idleWaiters.length === 0 || !idle()) return;
    const wake = idleWaiters;
    idleWaiters = [];
    for (const fn of wake) fn();
  }

  /** Writes the job's payload to the spool and settles it as failed (spooled) or, without room, dropped. */
  function spoolJob(job: Job, reason: FailReason, detail: string, httpStatus?: number): void {
    const settle = (spooled: boolean): void => {
      counters.failed += 1;
      if (spooled) counters.spooled += 1;
      else drop(reason);
      const outcome: Extract<SendOutcome, { status: "failed" }> = { status: "failed", uuid: job.payload.uuid, reason, spooled, detail };
      if (httpStatus !== undefined) outcome.httpStatus = httpStatus;
      job.resolve(outcome);
    };
    const queued = writes.add(job.payload, (ok) => {
      if (ok) replayer.markDirty();
      // A probe scheduled before this record was on disk may already have found the spool empty.
      if (ok && failing) replayer.scheduleProbe();
      settle(ok);
      pump();
    });
    if (queued) return;
    if (spool) debug(`spool backlog full; report ${job.payload.uuid} dropped`);
    settle(false);
    checkIdle();
  }

  function stopEndpoint(status: number): void {
    if (stopped) return;
    const proxy = status === 407;
    stopped = { reason: proxy ? "proxy-auth" : "unauthorized", status };
    debug(
      `${proxy ? "the proxy answered 407 (its credentials are missing or refused)" : `the server answered ${status} (token refused)`}: ` +
        "sending to this endpoint stops until the client is initialized again; reports are kept in the spool",
    );
    for (const job of jobs.takeAll()) spoolJob(job, stopped.reason, `HTTP ${status}`, status);
    replayer.stop();
  }

  /** A transient failure: the endpoint is failing, and a Retry-After holds every request. */
  function transient(result: TransportResult): void {
    failing = true;
    requests.hold(result);
  }

  function endpointAnswered(): void {
    if (!failing) return;
    failing = false;
    replayer.endpointAnswered();
  }

  /** The body made much smaller after a 413 (without attachments), or undefined when it cannot be. */
  function smallerPayload(payload: Payload): Payload | undefined {
    if (!config.trim) return undefined;
    let smaller: JsonBody | undefined;
    try {
      const text = config.trim(jsonText(payload.json));
      smaller = text === undefined ? undefined : jsonBody(text);
    } catch {
      smaller = undefined;
    }
    if (smaller === undefined || smaller.bytes >= payload.json.bytes) return undefined;
    counters.trimmed += 1;
    return { uuid: payload.uuid, json: smaller, attachments: [], duplicates: payload.duplicates };
  }

  function handle(job: Job, result: TransportResult): void {
    if (result.skipped) {
      debug(`report ${job.payload.uuid}: attachments skipped: ${result.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`);
    }
    if (closed) return spoolJob(job, "closed", describe(result));
    const status = result.kind === "response" ? result.status : undefined;
    const decision = decide(result, { attempt: job.attempt, maxAttempts: retry.maxAttempts, trimmed: job.trimmed });
    switch (decision.action) {
      case "sent":
        counters.sent += 1;
        job.resolve({ status: "sent", uuid: job.payload.uuid, rxid: decision.rxid });
        endpointAnswered();
        return;
      case "retry": {
        transient(result);
        counters.retried += 1;
        const delay = retryDelay(job.attempt, decision.retryAfter, { ...retry, random, now: now() });
        jobs.hold(job);
        job.timer = unref(
          setTimer(() => {
            if (jobs.release(job)) pump();
          }, delay),
        );
        return;
      }
      case "keep":
        transient(result);
        if (decision.reason === "redirected") {
          debug(
            `the server answered ${describe(result)}, a redirect${result.kind === "response" && result.location ? ` to ${safeLocation(result.location)}` : ""}: ` +
              `reports are not sent on to another address with the token; report ${job.payload.uuid} is kept in the spool until the endpoint is fixed`,
          );
        } else debug(`report ${job.payload.uuid} not delivered after ${job.attempt} attempts (${describe(result)})`);
        spoolJob(job, decision.reason, describe(result), status);
        replayer.scheduleProbe();
        return;
      case "trim": {
        const smaller = smallerPayload(job.payload);
        if (smaller) {
          job.payload = smaller;
          job.trimmed = true;
          jobs.pushFront(job);
          return;
        }
        return settleLost(job, "too-large", describe(result), status);
      }
      case "stop":
        stopEndpoint(decision.status);
        return spoolJob(job, decision.reason, describe(result), status);
      case "drop":
        if (decision.reason !== "too-large") {
          debug(`report ${job.payload.uuid} rejected: ${describe(result)} ${result.kind === "response" ? result.body.slice(0, 200) : ""}`);
        }
        return settleLost(job, decision.reason, describe(result), status);
    }
  }

  function settleLost(job: Job, reason: FailReason, detail: string, httpStatus: number | undefined): void {
    counters.failed += 1;
    drop(reason);
    const outcome: Extract<SendOutcome, { status: "failed" }> = { status: "failed", uuid: job.payload.uuid, reason, spooled: false, detail };
    if (httpStatus !== undefined) outcome.httpStatus = httpStatus;
    job.resolve(outcome);
  }

  function startJob(job: Job): void {
    job.attempt += 1;
    jobs.started(job);
    const request = requests.send(job.payload);
    // One reaction, not `then` and `finally`: two promises fewer per report; the queue is pumped however it ended.
    void request.result.then(
      (result) => {
        try {
          request.done();
          jobs.finished(job);
          try {
            handle(job, result);
          } catch (error) {
            settleLost(job, "internal-error", String(error), undefined);
          }
        } finally {
          pump();
        }
      },
      (error: unknown) => {
        pump();
        throw error;
      },
    );
  }

  function pump(): void {
    // A replayed record holds its slot from the moment it is read, so a pass never reads ahead of the limit.
    while (!closed && !stopped && requests.active() + replayer.slotsWithoutRequest() < concurrency) {
      if (requests.held()) break;
      const job = jobs.take();
      if (job) {
        startJob(job);
        continue;
      }
      if (jobs.holding() > 0) break; // retries go before the spool
      if (replayer.startNext()) continue;
      break;
    }
    if (replayer.dirty() && !failing && !stopped && !closed && jobs.queued() === 0 && !replayer.running()) void replayer.run();
    checkIdle();
  }

  function replay(): Promise<void> {
    return replayer.run();
  }

  function submit(payload: Payload): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve) => {
      const job: Job = { payload, attempt: 0, trimmed: false, resolve };
      try {
        if (closed) return spoolJob(job, "closed", "delivery closed");
        if (stopped) return spoolJob(job, stopped.reason, `endpoint stopped after ${stopped.status}`);
        if (jobs.queued() + jobs.inFlight() >= queueSize) return spoolJob(job, "queue-full", "in-memory queue full");
        jobs.push(job);
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
      }, timerMs(timeoutMs));
      const wake = (): void => {
        clearTimer(timer);
        resolve(true);
      };
      idleWaiters.push(wake);
    });
  }

  function readCounters(): DeliveryCounters {
    return { ...counters, dropped: withSpoolLosses(dropped, spool), mergedLost, queued: jobs.queued(), inFlight: requests.active() };
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    requests.clearHold();
    const pending = jobs.takeAll();
    replayer.stop();
    for (const job of pending) spoolJob(job, "closed", "delivery closed");
    requests.abortAll();
    // Aborted requests settle at once and their jobs are spooled; wait for that and the spool writes.
    await new Promise<void>((resolve) => {
      if (idle()) resolve();
      else idleWaiters.push(resolve);
    });
    requests.destroy();
  }

  function spoolPendingSync(): number {
    // Records being replayed go back under their own names, for the next run to send.
    spool?.releaseAllSync();
    const seen = new Set<string>();
    let written = 0;
    for (const payload of [...jobs.all().map((job) => job.payload), ...writes.payloads()]) {
      if (seen.has(payload.uuid)) continue;
      seen.add(payload.uuid);
      let ok = false;
      try {
        ok = spool?.writeSync(payload) === true;
      } catch {
        ok = false;
      }
      if (ok) written += 1;
      else {
        drop("exit");
        mergedLost += mergedBeyondOwn(payload.duplicates);
      }
    }
    counters.spooled += written;
    return written;
  }

  return { submit, flush, replay, counters: readCounters, failing: () => failing || stopped !== undefined, close, spoolPendingSync };
}
