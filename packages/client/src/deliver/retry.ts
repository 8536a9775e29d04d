// Pure retry decisions: what an answer or error means, backoff with jitter, Retry-After.
import type { TransportResult } from "../transport/post.js";

export const retryDefaults = {
  maxAttempts: 4, // tries per report, the first one included; then it goes to the spool
  baseDelayMs: 500, // backoff before the first retry
  factor: 2, // each further retry waits this many times longer
  maxDelayMs: 30_000, // cap on one backoff delay
  jitter: 0.5, // up to this fraction of a delay is taken off at random
  maxRetryAfterMs: 120_000, // longest Retry-After honoured; longer values are cut to this
};

export type RetryOptions = typeof retryDefaults;

/**
 * sent: accepted. retry: transient (network error, timeout, 408, 429, 5xx). final: rejected, do not resend
 * (400 and other 4xx, 3xx). too-large: 413, worth one resend trimmed. stop-endpoint: 401/403, bad token.
 */
export type Classification = "sent" | "retry" | "final" | "stop-endpoint" | "too-large";

export function classify(result: TransportResult): Classification {
  if (result.kind === "error") return "retry";
  const { status } = result;
  if (status >= 200 && status < 300) return "sent";
  if (status === 401 || status === 403) return "stop-endpoint";
  if (status === 413) return "too-large";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  return "final";
}

/**
 * Delay before retry number `attempt` (1 for the first retry): exponential, capped, with jitter taking off
 * up to `jitter` of it so that many clients failing together do not come back together.
 */
export function backoffDelay(
  attempt: number,
  { random = Math.random, ...overrides }: Partial<RetryOptions> & { random?: () => number } = {},
): number {
  const { baseDelayMs, factor, maxDelayMs, jitter } = { ...retryDefaults, ...overrides };
  const exponent = Math.max(0, attempt - 1);
  const raw = Math.min(maxDelayMs, baseDelayMs * factor ** exponent);
  const cut = jitter * Math.min(1, Math.max(0, random()));
  return Math.round(raw * (1 - cut));
}

/**
 * Milliseconds to wait from a Retry-After header: delta-seconds or an HTTP date, capped at `maxMs`.
 * Undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(
  header: string | undefined,
  now: number = Date.now(),
  maxMs: number = retryDefaults.maxRetryAfterMs,
): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === "") return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date always has a day or month name; this keeps "-3" or "1e3" from parsing as a year.
    if (!/[a-z]{3}/i.test(text)) return undefined;
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(maxMs, Math.max(0, Math.ceil(ms)));
}

/** What retry number `attempt` should wait: the longer of the backoff and the server's Retry-After. */
export function retryDelay(
  attempt: number,
  retryAfter: string | undefined,
  options: Partial<RetryOptions> & { random?: () => number; now?: number } = {},
): number {
  const { now, ...rest } = options;
  const backoff = backoffDelay(attempt, rest);
  const asked = parseRetryAfter(retryAfter, now ?? Date.now(), options.maxRetryAfterMs ?? retryDefaults.maxRetryAfterMs);
  return asked === undefined ? backoff : Math.max(backoff, asked);
}
