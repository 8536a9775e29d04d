// A worker thread killed by its resourceLimits is reported by the parent, with the worker's id, whether or not the application handles the 'error'.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const LIB = join(here, "..", "..", "dist", "index.cjs");
const APP = join(here, "..", "fixtures", "worker", "worker-oom.cjs");

for (const handled of [true, false]) {
  test(`a worker out of memory is reported as OutOfMemory with its thread id (the application ${handled ? "handles" : "does not handle"} the 'error')`, async () => {
    const receiver = await startReceiver();
    try {
      const env = { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: mkdtempSync(join(tmpdir(), "bt-worker-")), HANDLE: handled ? "1" : "0" };
      const result = await runNode([APP], { env });
      const [threadId, note] = result.stdout.trim().split("\n");
      if (handled) {
        assert.equal(result.code, 0, result.stderr);
        assert.equal(note, "handled ERR_WORKER_OUT_OF_MEMORY", "the application's listener still gets the error");
      } else {
        // Node raises the unhandled 'error' as an uncaught exception, as without the library.
        assert.equal(result.code, 1);
        assert.match(result.stderr, /Error \[ERR_WORKER_OUT_OF_MEMORY\]/);
      }
      await receiver.waitFor(1);
      assert.equal(receiver.requests.length, 1, "one report");
      const body = receiver.requests[0]!.report as { classifiers: string[]; attributes: Record<string, unknown>; annotations: Record<string, unknown> };
      assert.deepEqual(body.classifiers, ["OutOfMemory"]);
      assert.equal(body.attributes["worker.threadId"], Number(threadId));
      assert.equal(body.attributes["error.type"], handled ? "Crash" : "Unhandled exception");
      assert.equal((body.annotations["Worker resource limits"] as { maxOldGenerationSizeMb: number }).maxOldGenerationSizeMb, 8);
    } finally {
      await receiver.close();
    }
  });
}

test("a worker's out-of-memory report recovered from the journal after a kill -9 is still OutOfMemory with its thread id", async () => {
  // The report is in flight to a receiver that never answers when the process is killed: the next start sends it from the journal.
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  const receiver = await startReceiver();
  try {
    const spool = mkdtempSync(join(tmpdir(), "bt-worker-"));
    const killed = await runNode([APP], { env: { BT_LIB: LIB, BT_ENDPOINT: hanging.url, BT_SPOOL: spool, HANDLE: "1", KILL: "1" } });
    assert.equal(killed.signal, "SIGKILL", killed.stderr);
    const threadId = Number(killed.stdout.trim().split("\n")[0]);
    const start = `const bt = require(${JSON.stringify(LIB)}); bt.initialize({ endpoint: ${JSON.stringify(receiver.url)}, token: "t0k3n", spool: ${JSON.stringify(spool)} }); setTimeout(() => {}, 1500);`;
    const next = await runNode(["-e", start]);
    assert.equal(next.code, 0, next.stderr);
    await receiver.waitFor(1);
    assert.equal(receiver.requests.length, 1, "the one report, recovered");
    const body = receiver.requests[0]!.report as { classifiers: string[]; attributes: Record<string, unknown> };
    assert.deepEqual(body.classifiers, ["OutOfMemory"]);
    assert.equal(body.attributes["worker.threadId"], threadId);
  } finally {
    await hanging.close();
    await receiver.close();
  }
});

test("a worker started before initialize that dies of out of memory unhandled is still reported as OutOfMemory (its thread id unknown)", async () => {
  const receiver = await startReceiver();
  try {
    const env = { BT_LIB: LIB, BT_ENDPOINT: receiver.url, BT_SPOOL: mkdtempSync(join(tmpdir(), "bt-worker-")), BEFORE: "1" };
    const result = await runNode([APP], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error \[ERR_WORKER_OUT_OF_MEMORY\]/);
    await receiver.waitFor(1);
    assert.equal(receiver.requests.length, 1, "one report");
    const body = receiver.requests[0]!.report as { classifiers: string[]; attributes: Record<string, unknown> };
    assert.deepEqual(body.classifiers, ["OutOfMemory"]);
    assert.equal(body.attributes["error.type"], "Unhandled exception");
    assert.equal(body.attributes["worker.threadId"], undefined, "the library never saw the worker");
  } finally {
    await receiver.close();
  }
});
