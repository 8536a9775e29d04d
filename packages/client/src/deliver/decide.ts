// The one answer policy: what an answer from the server (or a network error) means for a report, used by delivery, replay and the crash path.
import type { TransportResult } from "../transport/post.js";

/** The dropped-counter reason of an answer that is final. */
export type RejectReason = "too-large" | "bad-request" | "rejected";

/** Why sending to the endpoint stops: the token refused (401/403), or the proxy's credentials (407). */
export type StopReason = "unauthorized" | "proxy-auth";

/**
 * - `sent`: accepted (2xx).
 * - `retry`: transient (network error, timeout, 408, 429, 5xx) with tries left: back off and send again.
 * - `keep`: transient with no tries left, or a redirect: keep the report (spool) and try again later. A POST
 *   carrying the token is never followed to another address, and a redirect is not the report's fault:
 *   it waits on disk until the endpoint is fixed, like an outage.
 * - `trim`: 413 on a body not trimmed yet: worth one resend much smaller.
 * - `drop`: rejected for good (400, other 4xx and 1xx, a 413 already trimmed): never resend.
 * - `stop`: 401/403, the token is refused, or 407, the proxy refused its credentials: stop sending to this
 *   endpoint, keep the report. Nothing is wrong with the report; once the configuration is fixed and the
 *   client started again, the spool delivers it.
 */
export type Decision =
  | { action: "sent"; rxid: string | undefined }
  | { action: "retry"; retryAfter: string | undefined }
  | { action: "keep"; reason: "retries-exhausted" | "redirected" }
  | { action: "trim" }
  | { action: "drop"; reason: RejectReason; status: number }
  | { action: "stop"; reason: StopReason; status: number };

export interface Attempt {
  /** Tries made so far, this one included (1 for the first). */
  attempt: number;
  /** Tries allowed in all; past them a transient failure keeps the report instead of retrying. */
  maxAttempts: number;
  /** True once the body was resent trimmed after a 413. */
  trimmed: boolean;
}

export function decide(result: TransportResult, { attempt, maxAttempts, trimmed }: Attempt): Decision {
  if (result.kind === "error") return attempt < maxAttempts ? { action: "retry", retryAfter: undefined } : { action: "keep", reason: "retries-exhausted" };
  const { status } = result;
  if (status >= 200 && status < 300) return { action: "sent", rxid: result.rxid };
  if (status === 401 || status === 403) return { action: "stop", reason: "unauthorized", status };
  if (status === 407) return { action: "stop", reason: "proxy-auth", status };
  if (status === 413) return trimmed ? { action: "drop", reason: "too-large", status } : { action: "trim" };
  if (status === 408 || status === 429 || status >= 500) {
    return attempt < maxAttempts ? { action: "retry", retryAfter: result.retryAfter } : { action: "keep", reason: "retries-exhausted" };
  }
  if (status >= 300 && status < 400) return { action: "keep", reason: "redirected" };
  return { action: "drop", reason: status === 400 ? "bad-request" : "rejected", status };
}

/** A transport result in words, for debug messages and outcome details. */
export function describeResult(result: TransportResult): string {
  if (result.kind === "error") return result.reason;
  return result.status === 407 ? "HTTP 407 from the proxy (proxy authentication required)" : `HTTP ${result.status}`;
}

/** Where a redirect points, without its query or credentials (either may hold a token). */
export function safeLocation(location: string): string {
  try {
    const url = new URL(location, "http://relative.invalid");
    return url.origin === "http://relative.invalid" ? url.pathname : `${url.origin}${url.pathname}`;
  } catch {
    return "(an unreadable address)";
  }
}
