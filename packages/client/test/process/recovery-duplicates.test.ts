// A storm's reports left in the journal by a kill -9: the next start sends each with the count it had, so every
// occurrence arrives once (restored reports are not merged into each other, which would count each of them as one).
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient } from "../../src/index.js";
import { collect } from "../helpers/child.js";
import { killAndRestart, startNode, waitUntil } from "../fixtures/crash/child.js";
import type { Receiver } from "../helpers/http-receiver.js";

const duplicateCount = (url: string): number => Number(new URL(url, "http://x").searchParams.get("_mod_duplicate") ?? 1);

/** The occurrences a receiver holds: each report once (a resend after a kill has the same uuid), by its count. */
function occurrences(receiver: Receiver): number {
  const byUuid = new Map(receiver.requests.map((r) => [String((r.report as { uuid?: unknown }).uuid), duplicateCount(r.url)]));
  return [...byUuid.values()].reduce((sum, n) => sum + n, 0);
}

for (const endpoint of ["answering", "hanging"] as const) {
  // Three signals at random moments: a count that waits too long before it is written is lost only when the signal
  // falls at the end of its wait.
  test(`SIGTERM with Node's default action in the middle of a storm of one error, endpoint ${endpoint}: every occurrence thrown 50 ms before the signal arrives by the next run (3 runs)`, async (t) => {
    for (let round = 0; round < 3; round++) await stormThenSignal(t, endpoint);
  });
}

async function stormThenSignal(t: TestContext, endpoint: "answering" | "hanging"): Promise<void> {
  const { spool, good, hanging, nextRun } = await killAndRestart(t, "storm-signal");
  const child = startNode(["storm-signal.cjs"], { BT_ENDPOINT: endpoint === "answering" ? good.url : hanging.url, BT_SPOOL: spool });
  const ended = collect(child, 20_000);
  const slices: Array<{ at: number; thrown: number }> = [];
  let rest = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const [at, thrown] = line.split(" ").map(Number);
      if (at !== undefined && thrown !== undefined) slices.push({ at, thrown });
    }
  });
  await waitUntil(() => slices.length > 0, 10_000, "the storm to start");
  await new Promise((resolve) => setTimeout(resolve, 400 + Math.floor(Math.random() * 600)));
  const signalledAt = Date.now();
  child.kill("SIGTERM");
  assert.equal((await ended).signal, "SIGTERM", "the process died of the signal, as without the library");
  const expected = slices.filter((s) => s.at <= signalledAt - 50).at(-1)?.thrown ?? 0;
  assert.ok(expected > 0, "occurrences were thrown before the signal");

  const before = occurrences(good);
  const next = nextRun(new BacktraceClient({ endpoint: good.url, token: "t0k3n", spool, disableGlobalHandler: true }));
  await waitUntil(() => occurrences(good) >= expected, 15_000, `${expected} occurrences to arrive`).catch(() => undefined);
  await next.flush(5);
  assert.ok(occurrences(good) >= expected, `${expected} occurrences thrown 50 ms before the signal, ${occurrences(good)} arrived (${before} before the next start)`);
  await next.finalize();
}

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
  const count = (): number => occurrences(good);
  await waitUntil(() => count() >= storm, 15_000, `${storm} occurrences to arrive`).catch(() => undefined);
  await next.flush(5);
  assert.ok(good.requests.length > 1, "several reports were restored");
  assert.equal(count(), storm, `${good.requests.length} reports restored; counts ${good.requests.map((r) => duplicateCount(r.url)).join(",")}`);
  assert.equal(next.counters().merged, 0, "restored reports are not merged into each other");
});
