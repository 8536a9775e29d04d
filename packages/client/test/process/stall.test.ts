// The event loop stall watchdog against a real child process whose main thread is stuck in a busy loop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { stallContext } from "../../src/process/stall.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const LIB = join(here, "..", "..", "dist", "index.cjs");
const APP = join(here, "..", "fixtures", "stall", "stall-app.cjs");

interface Body {
  classifiers: string[];
  attributes: Record<string, unknown>;
  threads: Record<string, { stack: Array<{ funcName: string; library?: string }> }>;
  mainThread: string;
}

test("a main thread stuck for 3 s with stallThreshold 1 gives one EventLoopStall report, top frame the busy function, with its breadcrumbs and scope", async () => {
  const receiver = await startReceiver();
  try {
    const spool = mkdtempSync(join(tmpdir(), "bt-stall-"));
    const result = await runNode([APP], { env: { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "", "nothing printed");
    await receiver.waitFor(2);
    const bodies = receiver.requests.map((request) => request.report as Body);
    const stalls = bodies.filter((body) => body.classifiers[0] === "EventLoopStall");
    assert.equal(stalls.length, 1, "one report per stall");
    const stall = stalls[0]!;
    assert.equal(stall.mainThread, "main");
    const top = stall.threads["main"]!.stack[0]!;
    assert.equal(top.funcName, "busyForThreeSeconds");
    assert.equal(top.library, APP);
    assert.equal(stall.attributes["error.type"], "Hang");
    assert.equal(typeof stall.attributes["eventLoopStall.seconds"], "number");
    assert.equal(stall.attributes["job"], "crunch", "the scope of the blocked code");
    assert.ok(receiver.requests.some((r) => r.parts?.some((p) => p.data.toString().includes("about to crunch numbers"))), "the breadcrumbs of the main thread");
    const after = bodies.find((body) => body.classifiers[0] === "Message")!;
    assert.equal(typeof after.attributes["eventLoopStall.lastSeconds"], "number", "the stall's end noted in the next report");
    assert.ok(receiver.requests.every((r) => r.validation?.valid !== false));
  } finally {
    await receiver.close();
  }
});

test("the main thread's context is JSON, leaving out what does not serialize", () => {
  const report = { getAttributes: () => ({ a: 1 }), getAnnotations: () => ({ big: 10n }) };
  assert.deepEqual(JSON.parse(stallContext(report, () => [{ message: "m" }])), { attributes: { a: 1 }, breadcrumbs: [{ message: "m" }] });
});
