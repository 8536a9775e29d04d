import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelay, parseRetryAfter, retryDelay } from "../../src/deliver/retry.js";
import { retryDefaults } from "../../src/defaults.js";

test("backoff doubles from the base delay and is capped", () => {
  const noJitter = { random: () => 0 };
  assert.equal(backoffDelay(1, noJitter), retryDefaults.baseDelayMs);
  assert.equal(backoffDelay(2, noJitter), retryDefaults.baseDelayMs * 2);
  assert.equal(backoffDelay(3, noJitter), retryDefaults.baseDelayMs * 4);
  assert.equal(backoffDelay(50, noJitter), retryDefaults.maxDelayMs);
  assert.equal(backoffDelay(3, { random: () => 0, baseDelayMs: 10, factor: 3, maxDelayMs: 1000 }), 90);
});

test("jitter takes off up to the jitter fraction, driven by the random source", () => {
  assert.equal(backoffDelay(1, { random: () => 1, baseDelayMs: 1000, jitter: 0.5 }), 500);
  assert.equal(backoffDelay(1, { random: () => 0.5, baseDelayMs: 1000, jitter: 0.5 }), 750);
  assert.equal(backoffDelay(1, { random: () => 0.5, baseDelayMs: 1000, jitter: 0 }), 1000);
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
  assert.ok(seen.size > 1, "default randomness varies the delay");
  for (const delay of seen) assert.ok(delay >= 2000 && delay <= 4000);
});

test("Retry-After in seconds or as an HTTP date, capped, undefined when unreadable", () => {
  const now = Date.parse("2024-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("2", now), 2000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("1.5", now), 1500);
  assert.equal(parseRetryAfter("Mon, 01 Jan 2024 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Sun, 31 Dec 2023 23:00:00 GMT", now), 0, "a past date means now");
  assert.equal(parseRetryAfter("999999", now), retryDefaults.maxRetryAfterMs);
  assert.equal(parseRetryAfter("10", now, 5000), 5000);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter("-3", now), undefined);
});

test("the retry delay is the longer of the backoff and Retry-After", () => {
  assert.equal(retryDelay(1, "2", { random: () => 0, baseDelayMs: 100, now: 0 }), 2000);
  assert.equal(retryDelay(1, "0", { random: () => 0, baseDelayMs: 100, now: 0 }), 100);
  assert.equal(retryDelay(2, undefined, { random: () => 0, baseDelayMs: 100 }), 200);
});
