// The one answer policy: every status class, network errors, tries left or not, trimmed or not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decide, describeResult } from "../../src/deliver/decide.js";
import type { TransportResult } from "../../src/transport/post.js";

const answer = (status: number, extra: Partial<Extract<TransportResult, { kind: "response" }>> = {}): TransportResult => ({ kind: "response", status, body: "", ...extra });
const first = { attempt: 1, maxAttempts: 4, trimmed: false };
const last = { attempt: 4, maxAttempts: 4, trimmed: false };

test("a 2xx is sent, with the server's rxid", () => {
  assert.deepEqual(decide(answer(200, { rxid: "r1" }), first), { action: "sent", rxid: "r1" });
  assert.deepEqual(decide(answer(202), last), { action: "sent", rxid: undefined });
  assert.equal(decide(answer(299), first).action, "sent");
});

test("network errors, timeouts, 408, 429 and 5xx are retried while tries are left, then kept", () => {
  const errors: TransportResult[] = [
    { kind: "error", reason: "ECONNRESET", timeout: false },
    { kind: "error", reason: "timed out", timeout: true },
  ];
  for (const result of [...errors, ...[408, 429, 500, 502, 503, 504, 599].map((s) => answer(s))]) {
    assert.equal(decide(result, first).action, "retry", describeResult(result));
    assert.deepEqual(decide(result, last), { action: "keep", reason: "retries-exhausted" }, describeResult(result));
  }
  assert.deepEqual(decide(answer(503, { retryAfter: "7" }), first), { action: "retry", retryAfter: "7" });
});

test("401 and 403 stop the endpoint, whatever the attempt", () => {
  for (const status of [401, 403]) {
    assert.deepEqual(decide(answer(status), first), { action: "stop", reason: "unauthorized", status });
    assert.deepEqual(decide(answer(status), last), { action: "stop", reason: "unauthorized", status });
  }
});

test("a 407 (the proxy refused its credentials) stops the endpoint under its own reason, and says it was the proxy", () => {
  assert.deepEqual(decide(answer(407), first), { action: "stop", reason: "proxy-auth", status: 407 });
  assert.deepEqual(decide(answer(407), last), { action: "stop", reason: "proxy-auth", status: 407 });
  assert.match(describeResult(answer(407)), /proxy/);
});

test("a 413 is worth one trimmed resend, then it is dropped as too large", () => {
  assert.deepEqual(decide(answer(413), first), { action: "trim" });
  assert.deepEqual(decide(answer(413), { ...first, trimmed: true }), { action: "drop", reason: "too-large", status: 413 });
});

test("a 3xx is never followed: the report is kept, whatever the attempt", () => {
  for (const status of [300, 301, 302, 303, 307, 308]) {
    assert.deepEqual(decide(answer(status, { location: "https://elsewhere.example/post" }), first), { action: "keep", reason: "redirected" });
    assert.deepEqual(decide(answer(status), last), { action: "keep", reason: "redirected" });
  }
});

test("400 is a bad request; other 4xx and 1xx are rejected for good, never retried", () => {
  assert.deepEqual(decide(answer(400), first), { action: "drop", reason: "bad-request", status: 400 });
  for (const status of [404, 405, 409, 410, 422, 100]) {
    assert.deepEqual(decide(answer(status), first), { action: "drop", reason: "rejected", status }, String(status));
  }
});

test("results read as words for debug lines", () => {
  assert.equal(describeResult(answer(502)), "HTTP 502");
  assert.equal(describeResult({ kind: "error", reason: "ECONNREFUSED: refused", timeout: false }), "ECONNREFUSED: refused");
});
