import { test } from "node:test";
import assert from "node:assert/strict";
import { createReportLimits } from "../../src/deliver/rate-limit.js";
import { BacktraceClient } from "../../src/index.js";
import { withReceiver } from "../helpers/http-receiver.js";

test("the rate limit admits at most its number of reports in any sliding minute, and counts what it drops", () => {
  const limits = createReportLimits(3, 1);
  assert.equal(limits.takeDropped(), undefined);
  assert.deepEqual([0, 10, 20, 30, 59_999].map((t) => limits.admit(t)), [undefined, undefined, undefined, "rate-limited", "rate-limited"]);
  assert.equal(limits.admit(60_000), undefined, "the first admitted is a minute old");
  assert.equal(limits.admit(60_005), "rate-limited");
  assert.equal(limits.admit(60_010), undefined);
  assert.deepEqual(limits.takeDropped(), { "dropped.rateLimited": 3 });
  assert.equal(limits.takeDropped(), undefined, "taken once");
});

test("sampling keeps the share given and counts the rest; 1 keeps all and 0 none", () => {
  const half = createReportLimits(0, 0.5);
  assert.deepEqual([0.1, 0.49, 0.5, 0.9].map((r) => half.admit(0, r)), [undefined, undefined, "sampled-out", "sampled-out"]);
  assert.deepEqual(half.takeDropped(), { "dropped.sampled": 2 });
  assert.equal(createReportLimits(0, 1).admit(0, 0.999999), undefined);
  assert.equal(createReportLimits(0, 0).admit(0, 0), "sampled-out");
});

test("a client's rate limit drops and counts; the next report sent carries the number dropped since", () =>
  withReceiver(async (receiver) => {
    const client = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, rateLimit: 2, aggregateDuplicates: false });
    const first = await Promise.all([client.sendReport("a"), client.sendReport("b"), client.sendReport("c"), client.sendReport("d")]);
    assert.deepEqual(first.map((o) => o.status), ["sent", "sent", "dropped", "dropped"]);
    assert.deepEqual(first.map((o) => (o.status === "dropped" ? o.reason : undefined)), [undefined, undefined, "rate-limited", "rate-limited"]);
    assert.equal(client.counters().discarded["rate-limited"], 2);
    await client.finalize();
    const sampled = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, sampleRate: 0 });
    const outcome = await sampled.sendException(new Error("x"));
    assert.equal(outcome.status === "dropped" && outcome.reason, "sampled-out");
    assert.equal(sampled.counters().discarded["sampled-out"], 1);
    await sampled.finalize();
    const limited = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, rateLimit: 1, aggregateDuplicates: false });
    await Promise.all([limited.sendReport("one"), limited.sendReport("two"), limited.sendReport("three")]);
    await limited.finalize();
    assert.equal(receiver.requests.length, 3);
  }));

test("what was dropped rides along as an attribute on the next report built", () =>
  withReceiver(async (receiver) => {
    const client = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, rateLimit: 1, aggregateDuplicates: false });
    assert.equal((await client.sendReport("one")).status, "sent");
    await Promise.all([client.sendReport("two"), client.sendReport("three")]);
    const { internalReport } = await import("../../src/capture/report.js");
    const crash = await client.send(internalReport(client).setException(new Error("boom"), "Unhandled exception"));
    assert.equal(crash.status, "sent", "crashes are never limited");
    await client.finalize();
    const bodies = receiver.requests.map((r) => r.report as { attributes: Record<string, unknown> });
    assert.equal(bodies.length, 2);
    assert.equal(bodies[0]!.attributes["dropped.rateLimited"], undefined);
    assert.equal(bodies[1]!.attributes["dropped.rateLimited"], 2);
  }));

test("a rate limit far above any real rate is accepted: the client starts, sends, and holds only what it admitted", () =>
  withReceiver(async (receiver) => {
    for (const rateLimit of [1e12, Number.MAX_SAFE_INTEGER]) {
      const client = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, rateLimit });
      assert.equal((await client.sendReport("one")).status, "sent");
      await client.finalize();
    }
    // The sliding minute holds its admitted times as they come, and lets go of those older than a minute.
    const limits = createReportLimits(1e12, 1);
    for (let t = 0; t < 5000; t++) assert.equal(limits.admit(t * 100), undefined);
    assert.equal(limits.takeDropped(), undefined);
  }));
