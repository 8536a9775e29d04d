// process.exit() in the middle of a storm with no spool: the reports not sent are lost, and so are the occurrences
// merged into them; both are counted by the time the exit listeners run (nothing asynchronous runs after).
import { test } from "node:test";
import assert from "node:assert/strict";
import { startReceiver } from "../helpers/http-receiver.js";
import { collect } from "../helpers/child.js";
import { startNode } from "../fixtures/crash/child.js";

test("process.exit() mid-storm without a spool: every occurrence is counted, dropped at exit or merged and lost", async (t) => {
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => hanging.close());
  const storm = 600;
  const result = await collect(startNode(["storm.cjs"], { BT_ENDPOINT: hanging.url, STORM: String(storm), STORM_EXIT: "1" }), 20_000);
  assert.equal(result.code, 0, result.stderr);
  const line = /^counters (.*)$/m.exec(result.stdout)?.[1];
  assert.ok(line, result.stdout);
  const counters = JSON.parse(line) as { captured: number; merged: number; mergedLost: number; sent: number; discarded: Record<string, number>; dropped: Record<string, number> };
  assert.equal(counters.captured, storm);
  assert.ok(counters.merged > 0, "the storm was merged");
  assert.equal(counters.sent, 0);
  const droppedReports = Object.values(counters.discarded).reduce((a, b) => a + b, 0) + Object.values(counters.dropped).reduce((a, b) => a + b, 0);
  assert.equal(droppedReports + counters.mergedLost, storm, line);
});
