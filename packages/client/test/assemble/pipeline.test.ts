// The build pipeline: reports built in the order they came, none lost or built twice, however many come while it builds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPipeline } from "../../src/assemble/pipeline.js";
import type { BacktraceReport } from "../../src/capture/report.js";
import type { SendOutcome } from "../../src/outcome.js";

/** A pipeline whose builds call `onBuild` and whose sends all succeed; nothing may be discarded or fail. */
function testPipeline(onBuild: (report: BacktraceReport) => void, windowMs?: number) {
  return createPipeline({
    prepare: async (r) => {
      onBuild(r);
      return { uuid: r.uuid, json: { pieces: ["{}"], bytes: 2 }, attachments: [] };
    },
    submit: async (payload) => ({ status: "sent", uuid: payload.uuid, rxid: undefined }) as SendOutcome,
    discard: () => assert.fail("nothing is discarded"),
    fail: (_r, error) => assert.fail(String(error)),
    buildAhead: 8,
    holdLimit: () => 100_000,
    maxBacklog: 100_000,
    ...(windowMs === undefined ? {} : { windowMs }),
  });
}

test("thousands of reports, many pushed while earlier ones are built: each built once, in the order pushed", async () => {
  const built: number[] = [];
  const pending: Array<Promise<SendOutcome>> = [];
  const report = (n: number) => ({ uuid: `r${n}`, n }) as unknown as BacktraceReport;
  let next = 0;
  const push = (count: number): void => {
    for (let i = 0; i < count; i++) pending.push(pipeline.push(report(next++)));
  };
  const pipeline = testPipeline((r) => {
    const n = (r as unknown as { n: number }).n;
    built.push(n);
    // Every 400th build brings more reports, so the backlog's built front is cut while it builds.
    if (n % 400 === 399 && next < 6000) push(300);
  });
  push(2500);
  const deadline = Date.now() + 10_000;
  while (built.length < next && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(built, Array.from({ length: next }, (_, i) => i));
  const outcomes = await Promise.all(pending);
  await pipeline.idle();
  assert.ok(next >= 6000, `${next} pushed`);
  assert.deepEqual(built, Array.from({ length: next }, (_, i) => i));
  assert.deepEqual(outcomes.map((o) => o.uuid), Array.from({ length: next }, (_, i) => `r${i}`));
  assert.equal(pipeline.waiting(), 0);
  // After it went idle, it takes more as before.
  push(3);
  await Promise.all(pending);
  await pipeline.idle();
  assert.deepEqual(built.slice(-3), [next - 3, next - 2, next - 1]);
});

test("a report waiting out its window gets its fingerprint after the caller's turn, once; a duplicate then merges into it", async () => {
  const report = (n: number) => ({ uuid: `r${n}`, n }) as unknown as BacktraceReport;
  const built: string[] = [];
  const pipeline = testPipeline((r) => void built.push(r.uuid), 60_000);
  let keyed = 0;
  const first = pipeline.push(report(0), () => {
    keyed++;
    return "same";
  });
  assert.equal(keyed, 0, "not on the caller's path");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(keyed, 1, "made while the report waits");
  const into = pipeline.merge("same", 0);
  assert.equal(into?.report.uuid, "r0");
  assert.equal(keyed, 1, "made once");
  assert.equal(pipeline.merge("other", 0), undefined, "another fingerprint is not merged");
  await pipeline.idle();
  assert.equal((await first).uuid, "r0");
  assert.deepEqual(built, ["r0"]);
  assert.equal(into?.report.duplicates?.count, 2);
});
