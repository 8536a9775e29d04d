// A storm's reports left in the journal by a kill -9: the next start sends each with the count it had, so every
// occurrence arrives once (restored reports are not merged into each other, which would count each of them as one).
import { test } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient } from "../../src/index.js";
import { collect } from "../helpers/child.js";
import { killAndRestart, startNode, waitUntil } from "../fixtures/crash/child.js";

const duplicateCount = (url: string): number => Number(new URL(url, "http://x").searchParams.get("_mod_duplicate") ?? 1);

test("kill -9 after a storm against a hanging endpoint: the next start delivers every occurrence, each counted once", async (t) => {
  const { spool, good, hanging, nextRun } = await killAndRestart(t, "storm");

  const storm = 3000;
  const child = startNode(["storm.cjs"], { BT_ENDPOINT: hanging.url, BT_SPOOL: spool, STORM: String(storm) });
  const ended = collect(child, 20_000);
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await waitUntil(() => out.includes("thrown"), 15_000, "the storm to be thrown");
  // Past the journal's group commit (50 ms): every occurrence is on disk.
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.kill("SIGKILL");
  assert.equal((await ended).signal, "SIGKILL");
  assert.ok(hanging.requests.length > 0, "reports were pending at the endpoint when the process died");

  const next = nextRun(new BacktraceClient({ endpoint: good.url, token: "t0k3n", spool, disableGlobalHandler: true }));
  const count = (): number => {
    const byUuid = new Map(good.requests.map((r) => [String((r.report as { uuid?: unknown }).uuid), duplicateCount(r.url)]));
    return [...byUuid.values()].reduce((sum, n) => sum + n, 0);
  };
  await waitUntil(() => count() >= storm, 15_000, `${storm} occurrences to arrive`).catch(() => undefined);
  await next.flush(5);
  assert.ok(good.requests.length > 1, "several reports were restored");
  assert.equal(count(), storm, `${good.requests.length} reports restored; counts ${good.requests.map((r) => duplicateCount(r.url)).join(",")}`);
  assert.equal(next.counters().merged, 0, "restored reports are not merged into each other");
});
