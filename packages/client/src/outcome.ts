// What a report's delivery came to, every reason it can fail or be dropped, and the delivery counters: the public
// types of delivery, in a leaf module so that the published declarations need none of delivery's internals.

/** Why delivery did not deliver a report (status "failed"; `spooled` says whether it waits on disk). */
export type FailReason =
  /** The in-memory queue (`queueSize`) was full; written to the spool. Counted: `failed`, and `spooled` or `dropped`. */
  | "queue-full"
  /** Network errors, timeouts, 408, 429 or 5xx on every attempt; written to the spool. Counted: `failed`, and `spooled` or `dropped`. */
  | "retries-exhausted"
  /** 401/403: sending to this endpoint stopped, for this report and every later one; written to the spool. Counted: `failed`, and `spooled` or `dropped`. */
  | "unauthorized"
  /** 407: the proxy refused its credentials (missing or wrong); sending stopped as for `unauthorized`, until the client is initialized again; written to the spool. Counted: `failed`, and `spooled` or `dropped`. */
  | "proxy-auth"
  /** Still pending when delivery closed (`finalize()`, or the exit wait's deadline passed); written to the spool. Counted: `failed`, and `spooled` or `dropped`. */
  | "closed"
  /** 413, and the resend trimmed to 1/8 of `maxReportBytes` (at least 16 KB, when it could be made smaller) got 413 too; not spooled. Counted: `failed`, `dropped`. */
  | "too-large"
  /** 400; not retried, not spooled. Counted: `failed`, `dropped`. */
  | "bad-request"
  /** Another 4xx (or a 1xx as the final answer); not retried, not spooled. Counted: `failed`, `dropped`. */
  | "rejected"
  /** A 3xx: the report is not sent on to another address with the token; written to the spool, replayed once the endpoint answers (fix the endpoint). Counted: `failed`, and `spooled` or `dropped`. */
  | "redirected"
  /** A bug in delivery while handling the answer; not spooled. Counted: `failed`, `dropped`. */
  | "internal-error"
  /** Not built yet when the process ended; built and written to the spool synchronously (always `spooled: true`). Not counted. A report already built then (queued, in backoff or in flight) is written to the spool too; with no spool, or when that write fails, it is lost and counted in `dropped` under this reason (its outcome never settles: nothing runs after 'exit'). */
  | "exit";

/** Why a report was dropped before delivery (status "dropped"; counted in `counters().discarded`). */
export type DropReason =
  /** A module-level call before `initialize` (with a one-time process warning). Not counted. */
  | "not-initialized"
  /** `beforeSend` returned `false` or `null`. Counted: `discarded`. */
  | "before-send"
  /** 20,000 reports were already waiting to be built. Counted: `discarded`. */
  | "backlog-full"
  /** Sent through a client after `finalize()`. Counted: `discarded`. */
  | "client-finalized"
  /** Building the report threw (with `debugBacktrace` the promise rejects instead). Counted: `discarded`. */
  | "build-failed"
  /** The call itself threw before a report existed (`uuid` is `""`; with `debugBacktrace` it throws). Counted: `discarded`. */
  | "capture-failed"
  /** Over `rateLimit` reports in the last minute; the next report built carries the count as `dropped.rateLimited`. Counted: `discarded`. */
  | "rate-limited"
  /** Left out by `sampleRate`; the next report built carries the count as `dropped.sampled`. Counted: `discarded`. */
  | "sampled-out"
  /** A bug in delivery while taking the report. Counted: `dropped`. */
  | "internal-error"
  /** Not built yet when the process ended, and it could not be spooled (no spool, a failed write, past `exitTimeout`, or dropped by `beforeSend`). Counted: `discarded`. */
  | "exit";

/** Keys of `counters().dropped`: reports delivery lost for good. */
export type LossReason =
  | FailReason
  /** A spooled record deleted past the spool's bounds (oldest first). */
  | "spool-full"
  /** A spool record set aside as unreadable (in the spool's `corrupt/` folder), or a crash's diagnostic report that cannot be read (cut short by the crash), removed. */
  | "spool-corrupt";

export type SendOutcome =
  | { status: "sent"; uuid: string; rxid: string | undefined }
  | { status: "failed"; uuid: string; reason: FailReason; httpStatus?: number; spooled: boolean; detail?: string }
  | { status: "dropped"; uuid: string; reason: DropReason; detail?: string };

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
  dropped: Partial<Record<LossReason, number>>;
  /**
   * Occurrences merged into spooled reports that were rejected when replayed, or into reports lost at the process's
   * end (`dropped.exit`), beyond each report's own one (which `dropped` counts). The client's counters add those of
   * reports evicted from a full spool.
   */
  mergedLost: number;
  /** Reports waiting in memory (queued or in backoff). */
  queued: number;
  /** Requests in flight. */
  inFlight: number;
}

/** An outcome in words, for debug lines. */
export function describeOutcome(outcome: SendOutcome): string {
  if (outcome.status === "sent") return `sent; the server answered ok with rxid ${outcome.rxid ?? "(none)"}`;
  const http = outcome.status === "failed" && outcome.httpStatus !== undefined ? ` (HTTP ${outcome.httpStatus})` : "";
  return `${outcome.status}: ${outcome.reason}${http}${outcome.detail ? ` ${outcome.detail}` : ""}`;
}
