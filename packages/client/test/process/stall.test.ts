// The event loop stall watchdog against a real child process whose main thread is stuck in a busy loop.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNode, type ChildResult } from "../helpers/child.js";
import { withReceiver, type Receiver, type ReceiverOptions } from "../helpers/http-receiver.js";
import { stallContext } from "../../src/process/stall.js";
import { LoopWatch, QUIET_LOOKS, QuietByCpu } from "../../src/process/stall-channel.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const LIB = join(here, "..", "..", "dist", "index.cjs");
const FIXTURES = join(here, "..", "fixtures", "stall");
const APP = join(FIXTURES, "stall-app.cjs");

interface Body {
  classifiers: string[];
  attributes: Record<string, unknown>;
  threads: Record<string, { stack: Array<{ funcName: string; library?: string }> }>;
  mainThread: string;
}

/** Runs a fixture of test/fixtures/stall against a receiver of its own (and a spool folder), then `check`s what came. */
function runFixture(fixture: string, check: (result: ChildResult, receiver: Receiver) => Promise<void>, receiverOptions?: ReceiverOptions): Promise<void> {
  return withReceiver(async (receiver) => {
    const spool = mkdtempSync(join(tmpdir(), "bt-stall-"));
    const result = await runNode([join(FIXTURES, fixture)], { env: { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool } });
    await check(result, receiver);
  }, receiverOptions);
}

test("a main thread stuck for 3 s with stallThreshold 1 gives one EventLoopStall report, top frame the busy function, with its breadcrumbs and scope", () =>
  runFixture("stall-app.cjs", async (result, receiver) => {
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
  }));

test("after a second initialize, the new client's stall report carries its attributes (the finalized client's watchdog leaves them alone)", () =>
  runFixture("stall-twice.cjs", async (result, receiver) => {
    assert.equal(result.code, 0, result.stderr);
    await receiver.waitFor(1);
    const stalls = receiver.requests.map((request) => request.report as Body).filter((body) => body.classifiers[0] === "EventLoopStall");
    assert.equal(stalls.length, 1, "one report: the finalized client's watchdog is stopped");
    assert.equal(stalls[0]!.threads["main"]!.stack[0]!.funcName, "busyAfterTheSecondInitialize");
    assert.equal(stalls[0]!.attributes["client"], "second");
  }));

test("the main thread's context is JSON, leaving out what does not serialize", () => {
  const report = { getAttributes: () => ({ a: 1 }), getAnnotations: () => ({ big: 10n }) };
  assert.deepEqual(JSON.parse(stallContext(report, () => [{ message: "m" }])), { attributes: { a: 1 }, breadcrumbs: [{ message: "m" }] });
});

test("blocks of a fifth of the threshold are not stalls: none is reported", () =>
  runFixture("stall-short.cjs", async (result, receiver) => {
    assert.equal(result.code, 0, result.stderr);
    await receiver.waitFor(1);
    const classifiers = receiver.requests.map((request) => (request.report as Body).classifiers[0]);
    assert.deepEqual(classifiers, ["Message"], "the closing report alone");
  }));

test("an idle process with the watchdog runs no callback on its main thread for it, and ends by itself", async () => {
  const spool = mkdtempSync(join(tmpdir(), "bt-stall-"));
  // Two seconds of idleness at a threshold of 0.1 s: twenty looks of the watchdog.
  const result = await runNode([join(FIXTURES, "stall-idle.cjs")], { env: { BT_LIB: LIB, BT_ENDPOINT: "http://127.0.0.1:9/", BT_SPOOL: spool } });
  assert.equal(result.signal, null, "it ended by itself");
  assert.equal(result.code, 0, result.stderr);
  const idle = JSON.parse(result.stdout) as { callbacks: number; kinds: string[] };
  // The watchdog reads the main thread's state from Linux's syscall file and never pings an idle loop (it pinged every
  // QUIET_LOOKS thresholds before, and its main-thread timer stamped twice per threshold before that: 40). The one
  // callback allowed is the client's own timer that loads its second file 2 s after initialize.
  assert.ok(!idle.kinds.includes("MessagePort"), `no ping answered meanwhile: ${idle.kinds.join(", ")}`);
  assert.ok(idle.callbacks <= 1, `callbacks run meanwhile: ${idle.callbacks} (${idle.kinds.join(", ")})`);
});

test("stalls in blocking calls that use no CPU (Atomics.wait, spawnSync's own loop) are found within two thresholds, one report each", () =>
  runFixture("stall-blocking.cjs", async (result, receiver) => {
    assert.equal(result.code, 0, result.stderr);
    await receiver.waitFor(4);
    const bodies = receiver.requests.map((request) => request.report as Body);
    const seen = bodies.map((body) => (body.classifiers[0] === "EventLoopStall" ? "stall" : String(body.attributes["error.message"])));
    assert.deepEqual(seen.filter((kind) => kind === "stall").length, 2, seen.join(", "));
    for (const body of bodies.filter((b) => b.classifiers[0] === "EventLoopStall")) {
      const seconds = body.attributes["eventLoopStall.seconds"] as number;
      assert.ok(seconds >= 1 && seconds < 3, `reported ${seconds} s after the ping: found before the 3 s block ended`);
    }
  }));

test("a main thread that sits in spawnSync's loop poll after poll, then hangs in one for 2 s: the hang is reported (no poll's wait is taken for the idle loop)", () =>
  runFixture("stall-polling.cjs", async (result, receiver) => {
    assert.equal(result.code, 0, result.stderr);
    await receiver.waitFor(1);
    // The report after the hang is made 1.5 s after it: a stall report, if any, is out by the time it arrives.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const bodies = receiver.requests.map((request) => request.report as Body);
    const seen = bodies.map((body) => (body.classifiers[0] === "EventLoopStall" ? `stall ${String(body.attributes["eventLoopStall.seconds"])}` : String(body.attributes["error.message"])));
    const stalls = bodies.filter((body) => body.classifiers[0] === "EventLoopStall");
    assert.equal(stalls.length, 1, `one stall, the hung poll: ${seen.join(", ")}`);
    const seconds = stalls[0]!.attributes["eventLoopStall.seconds"] as number;
    assert.ok(seconds >= 0.5 && seconds < 2, `reported ${seconds} s after the ping: found before the 2 s hang ended`);
  }));

test("a stall that ends just before the application does: the process waits for the stall's report, which is sent, not left in the spool", () =>
  withReceiver(async (receiver) => {
    const spool = mkdtempSync(join(tmpdir(), "bt-stall-"));
    const result = await runNode([join(FIXTURES, "stall-then-exit.cjs")], { env: { BT_LIB: LIB, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool } });
    assert.equal(result.code, 0, result.stderr);
    const classifiers = receiver.requests.map((request) => (request.report as Body).classifiers[0]);
    assert.deepEqual(classifiers, ["EventLoopStall"], "the stall's report, received before the process ended");
    // The spool's reports (the fatal folder holds the process's attribute record, kept for a crash until the next start).
    const left = readdirSync(spool, { recursive: true }).filter((name) => String(name).endsWith(".json") && !String(name).startsWith("fatal"));
    assert.deepEqual(left, [], "answered before the exit: nothing left to send at the next start");
  }, { script: () => ({ delayMs: 800 }) }));

test("a crash whose synchronous send holds the main thread past the threshold (a slow endpoint) gives the crash report and no stall report", () =>
  runFixture("stall-crash.cjs", async (result, receiver) => {
    assert.notEqual(result.code, 0, "the crash ends the process");
    await receiver.waitFor(1);
    // A stall report, if any, was posted by the watchdog while the crash report waited for its answer.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const classifiers = receiver.requests.map((request) => (request.report as Body).classifiers[0]);
    assert.deepEqual(classifiers, ["Error"], "the crash report alone: the client's own way out is no stall");
  }, { script: () => ({ delayMs: 1500 }) }));

test("the watchdog's looks: a ping unanswered for a whole threshold is a stall, reported once; after an answer a ping goes out unless the main thread is surely idle", () => {
  const watch = new LoopWatch(1000);
  const idle = (): boolean => true;
  const unsure = (): boolean => false;
  assert.equal(watch.start(0), 1, "the first ping at the start");
  // The clock a look is given counts its reads: an idle look (no ping out, the main thread quiet) never reads it.
  let reads = 0;
  const at = (ms: number) => (): number => {
    reads++;
    return ms;
  };
  assert.equal(watch.wait(0, at(400)), 600, "the next look a threshold after the ping");
  assert.deepEqual(watch.look(0, unsure, at(999)), {}, "not a whole threshold yet");
  assert.deepEqual(watch.look(0, unsure, at(1000)), { stalledMs: 1000, since: 0 }, "unanswered for a threshold: a stall");
  assert.deepEqual(watch.look(0, unsure, at(2000)), {}, "the same stall, reported already");
  assert.equal(watch.wait(0, at(2000)), 1000);
  reads = 0;
  assert.equal(watch.wait(1, at(2500)), 1000, "answered: a threshold");
  assert.deepEqual(watch.look(1, idle, at(3000)), {}, "answered, idle: no ping");
  assert.equal(reads, 0, "an idle look reads no clock");
  assert.deepEqual(watch.look(1, unsure, at(4000)), { ping: 2 }, "answered, not sure: a ping");
  assert.deepEqual(watch.look(1, unsure, at(4999)), {}, "out for less than a threshold");
  assert.deepEqual(watch.look(1, unsure, at(5000)), { stalledMs: 1000, since: 4000 }, "a new stall");
});

test("without the syscall file: a look is quiet unless the process used 5 % of a threshold in CPU, and every QUIET_LOOKS-th is not", () => {
  const byCpu = new QuietByCpu(1000);
  const looks = Array.from({ length: QUIET_LOOKS * 2 }, () => byCpu.quiet(0));
  assert.deepEqual(looks, [...Array(QUIET_LOOKS - 1).fill(true), false, ...Array(QUIET_LOOKS - 1).fill(true), false]);
  assert.equal(byCpu.quiet(49), true);
  assert.equal(byCpu.quiet(50), false, "busy: not quiet");
  assert.equal(byCpu.quiet(0), true, "counted again from the busy look");
});
