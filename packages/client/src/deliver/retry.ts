// Pure retry timing: backoff with jitter, and Retry-After.
import { retryDefaults } from "../defaults.js";

export type RetryOptions = typeof retryDefaults;

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
