// A storm's reports left in the journal by a kill -9: the next start sends each with the count it had, so every
// occurrence arrives once (restored reports are not merged into each other, which would count each of them as one).
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient } from "../../src/index.js";
import { collect } from "../helpers/child.js";
import { killAndRestart, onStdoutPairs, startNode, waitUntil } from "../fixtures/crash/child.js";
import type { Receiver } from "../helpers/http-receiver.js";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { verifiedEntries } from "../../src/spool/journal-format.js";

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

/**
 * The occurrences a live process's journal holds open (sealed commits only): each capture with its count, the
 * latest patch of a count winning, settled captures left out. What a kill now would leave for the next start.
 */
function journaledOccurrences(spool: string): number {
  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(join(spool, ".key"), "utf8"), "hex");
  } catch {
    return 0;
  }
  const counts = new Map<string, number>();
  for (const file of readdirSync(spool).filter((f) => f.startsWith("journal-") && f.endsWith(".log"))) {
    let text: string;
    try {
      text = readFileSync(join(spool, file), "utf8");
    } catch {
      continue;
    }
    verifiedEntries(text, key, (json) => {
      const line = JSON.parse(json) as { u?: string; p?: string; d?: string[]; r?: { c?: { count?: number } } };
      if (line.u !== undefined) counts.set(line.u, line.r?.c?.count ?? 1);
      else if (line.p !== undefined && counts.has(line.p)) counts.set(line.p, line.r?.c?.count ?? counts.get(line.p)!);
      else for (const uuid of line.d ?? []) counts.delete(uuid);
    });
  }
  return [...counts.values()].reduce((sum, n) => sum + n, 0);
}

async function stormThenSignal(t: TestContext, endpoint: "answering" | "hanging"): Promise<void> {
  const { spool, good, hanging, nextRun } = await killAndRestart(t, "storm-signal");
  const child = startNode(["storm-signal.cjs"], { BT_ENDPOINT: endpoint === "answering" ? good.url : hanging.url, BT_SPOOL: spool });
  const ended = collect(child, 20_000);
  const slices: Array<{ at: number; thrown: number }> = [];
  onStdoutPairs(child, (at, thrown) => {
    if (thrown !== undefined) slices.push({ at: Number(at), thrown: Number(thrown) });
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
  // Every occurrence is on disk: waited for in the journal itself, not for a fixed 300 ms that a child starved of
  // CPU can outlast before its group commit runs.
  await waitUntil(() => journaledOccurrences(spool) >= storm, 15_000, `${storm} occurrences in the journal`).catch(() => undefined);
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
