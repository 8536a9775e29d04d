// kill -9 and SIGTERM with Node's default action at a random moment of a burst: every report whose send returned at
// least 100 ms before the signal arrives by the next run, with its uuid, and the process dies of the signal as it would.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { BacktraceClient } from "../../src/index.js";
import type { Receiver } from "../helpers/http-receiver.js";
import { collect } from "../helpers/child.js";
import { killAndRestart, onStdoutPairs, spoolRecords, startNode, waitUntil } from "../fixtures/crash/child.js";

type Endpoint = "answering" | "down" | "hanging";

/** "<ms> <uuid>" lines printed so far by the burst. */
function sends(child: ChildProcess): Array<{ at: number; uuid: string }> {
  const seen: Array<{ at: number; uuid: string }> = [];
  onStdoutPairs(child, (at, uuid) => {
    if (at && uuid) seen.push({ at: Number(at), uuid });
  });
  return seen;
}

const uuidOf = (receiver: Receiver): string[] => receiver.requests.map((r) => String((r.report as { uuid?: unknown } | undefined)?.uuid));

const cells: Array<{ signal: "SIGKILL" | "SIGTERM"; endpoint: Endpoint; queueSize?: number }> = [];
for (const signal of ["SIGKILL", "SIGTERM"] as const) for (const endpoint of ["answering", "down", "hanging"] as Endpoint[]) cells.push({ signal, endpoint });
// A small queue: what does not fit is built and spooled, and the journal covers what is not built yet.
cells.push({ signal: "SIGKILL", endpoint: "down", queueSize: 10 });

for (const { signal, endpoint, queueSize } of cells) {
  {
    test(`${signal} during a burst, endpoint ${endpoint}${queueSize ? `, queueSize ${queueSize}` : ""}: every report sent 100 ms before the signal arrives by the next run`, async (t) => {
      const { spool, good, hanging, nextRun } = await killAndRestart(t, "kill");
      const url = endpoint === "answering" ? good.url : endpoint === "hanging" ? hanging.url : "http://127.0.0.1:9";

      const child = startNode(["burst.cjs"], { BT_ENDPOINT: url, BT_SPOOL: spool, BURST: "2000", BT_QUEUE_SIZE: queueSize === undefined ? undefined : String(queueSize) });
      const ended = collect(child, 20_000);
      const seen = sends(child);
      await waitUntil(() => seen.length > 0, 10_000, "the burst to start");
      // Somewhere between the first slices and well after the last one.
      const delay = 150 + Math.floor(Math.random() * 700);
      await new Promise((resolve) => setTimeout(resolve, delay));
      const signalledAt = Date.now();
      child.kill(signal);
      const result = await ended;
      assert.equal(result.signal, signal, `the process died of ${signal}, as without the library`);
      assert.equal(result.code, null);
      const expected = seen.filter((s) => s.at <= signalledAt - 100).map((s) => s.uuid);
      assert.ok(expected.length > 0, "reports were sent before the signal");

      // The next run, with an endpoint that answers, sends what the killed one left.
      const next = nextRun(new BacktraceClient({ endpoint: good.url, token: "t0k3n", spool, spoolMaxRecords: 5000, disableGlobalHandler: true, exitTimeout: 10 }));
      const arrived = (): Set<string> => new Set(uuidOf(good));
      await waitUntil(() => expected.every((uuid) => arrived().has(uuid)), 30_000, `${expected.length} reports to arrive`).catch(() => undefined);
      const missing = expected.filter((uuid) => !arrived().has(uuid));
      assert.deepEqual(missing, [], `${missing.length} of ${expected.length} reports sent 100 ms before the signal never arrived`);
      await next.flush(10);
      for (const request of good.requests) assert.deepEqual(request.validation?.errors, []);
      assert.deepEqual(spoolRecords(spool), [], "nothing left in the spool");
    });
  }
}
