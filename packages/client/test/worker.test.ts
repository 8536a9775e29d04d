import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { isMainThread } from "../src/builtins.js";
import { startReceiver } from "./helpers/http-receiver.js";

// A worker thread that uses the library reports with its own thread id and name.
function runWorker(source: string): Promise<{ error: unknown; code: number }> {
  return new Promise((resolve) => {
    const worker = new Worker(source, { eval: true });
    let error: unknown;
    worker.on("error", (e) => (error = e));
    worker.on("exit", (code) => resolve({ error, code }));
  });
}

type Body = { mainThread: string; threads: Record<string, { name: string; fault: boolean; stack: Array<{ funcName: string }> }>; attributes: Record<string, unknown> };

test("reports made in a worker thread name the worker's thread", async () => {
  const receiver = await startReceiver();
  try {
    const result = await runWorker(`
      const { threadId } = require("node:worker_threads");
      const bt = require("backtrace-ts");
      const client = bt.initialize({ endpoint: "http://127.0.0.1:${receiver.port}", token: "t", disableGlobalHandler: true, spool: false });
      function insideWorker() { return new Error("from worker " + threadId); }
      bt.sendException(insideWorker()).then(() => bt.finalize());
    `);
    assert.equal(result.code, 0);
    await receiver.waitFor(1);
    const body = receiver.requests[0]!.report as Body;
    assert.deepEqual(receiver.requests[0]!.validation?.errors, []);
    assert.match(body.mainThread, /^worker-\d+$/);
    const id = body.mainThread.slice("worker-".length);
    assert.equal(body.threads[body.mainThread]!.name, `worker ${id}`);
    assert.equal(body.attributes["error.message"], `from worker ${id}`);
    assert.equal(body.threads[body.mainThread]!.stack[0]!.funcName, "insideWorker");
  } finally {
    await receiver.close();
  }
});

test("an uncaught exception in a worker that uses the library is reported before the worker ends", async () => {
  const receiver = await startReceiver();
  try {
    const result = await runWorker(`
      const bt = require("backtrace-ts");
      bt.initialize({ endpoint: "http://127.0.0.1:${receiver.port}", token: "t", spool: false, exitTimeout: 5 });
      setTimeout(function workerTask() { throw new RangeError("worker crashed"); }, 1);
    `);
    assert.equal(result.code, 1);
    assert.match(String(result.error), /RangeError: worker crashed/);
    assert.equal(receiver.requests.length, 1, "the report arrived before the worker ended");
    const body = receiver.requests[0]!.report as Body;
    assert.match(body.mainThread, /^worker-\d+$/);
    assert.equal(body.attributes["error.type"], "Unhandled exception");
    assert.match(body.threads[body.mainThread]!.stack[0]!.funcName, /workerTask/);
  } finally {
    await receiver.close();
  }
});

test("a client initialized in a worker thread leaves process.report to the main thread, told apart without worker_threads", async (t) => {
  const spool = mkdtempSync(join(tmpdir(), "bt-worker-spool-"));
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  assert.equal(isMainThread(), true);
  const result = await runWorker(`
    const bt = require("backtrace-ts");
    bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: ${JSON.stringify(spool)} });
    if (process.report.reportOnFatalError || process.report.directory !== "") throw new Error("process.report was set from a worker");
    bt.finalize().then(() => process.exit(0));
  `);
  assert.equal(result.error, undefined);
  assert.equal(result.code, 0);
  assert.equal(process.report.reportOnFatalError, false);
});
