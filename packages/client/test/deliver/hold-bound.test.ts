// While the endpoint fails, reports held in memory are bounded by queueSize: the overflow is built and spooled at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BacktraceClient, type SendOutcome } from "../../src/index.js";

test("with the endpoint down and queueSize 10, a burst of 500 goes to the spool as queue-full, not held unbuilt", async (t) => {
  const spool = mkdtempSync(join(tmpdir(), "bt-hold-"));
  const client = new BacktraceClient({ endpoint: "http://127.0.0.1:9", token: "t", spool, queueSize: 10, disableGlobalHandler: true, exitTimeout: 1, aggregateDuplicates: false });
  // Hooks run in the order they were added: the client finishes its spool writes before the folder goes.
  t.after(() => client.finalize());
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const settled: SendOutcome[] = [];
  for (let i = 0; i < 500; i++) void client.sendException(new Error(`down ${i}`)).then((o) => void settled.push(o));
  let peak = 0;
  const deadline = Date.now() + 20_000;
  const overflowed = (): SendOutcome[] => settled.filter((o) => o.status === "failed" && o.reason === "queue-full" && o.spooled);
  // Counted by outcome, not by how many settled: on a loaded machine one of the first ten may end its retries meanwhile.
  while (overflowed().length < 480 && Date.now() < deadline) {
    const { queued, inFlight } = client.counters();
    peak = Math.max(peak, queued + inFlight);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const overflow = overflowed();
  // The first reports are still waiting out their retries: the rest did not wait for them.
  assert.ok(overflow.length >= 480, `spooled as queue-full: ${overflow.length} of ${settled.length} settled`);
  assert.ok(peak <= 10, `held by delivery at once: ${peak}`);
  assert.ok(client.counters().spooled >= 480);
});
