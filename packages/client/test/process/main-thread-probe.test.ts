// Reading where the main thread is from Linux's syscall file: real readings of this test's own main thread, taken by a
// worker while the main thread waits idle, blocks in Atomics.wait, runs spawnSync and spins; and the rules on them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { IdleWait, openMainThreadProbe, parseSyscallLine, type ThreadState } from "../../src/process/main-thread-probe.js";

// The worker reads the main thread's syscall line 200 ms after each request, and posts it (delivered once the main loop turns).
const SAMPLER = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync } = require("node:fs");
const fd = openSync("/proc/self/task/" + process.pid + "/syscall", "r");
const buffer = Buffer.alloc(256);
const sleep = new Int32Array(new SharedArrayBuffer(4));
parentPort.on("message", () => {
  Atomics.wait(sleep, 0, 0, 200);
  parentPort.postMessage(buffer.toString("latin1", 0, readSync(fd, buffer, 0, 256, 0)));
});`;

test("real readings: the idle loop is learned and is idle; Atomics.wait, spawnSync's own loop and a busy loop are not", async () => {
  if (process.platform !== "linux") {
    assert.equal(openMainThreadProbe(), undefined, "no syscall file: the watchdog falls back to CPU time and pings");
    return;
  }
  const worker = new Worker(SAMPLER, { eval: true });
  try {
    const sample = async (block: () => void): Promise<ThreadState> => {
      const line = new Promise<string>((resolve) => worker.once("message", resolve));
      worker.postMessage(0);
      block();
      return parseSyscallLine(await line);
    };
    const idle1 = await sample(() => undefined);
    const idle2 = await sample(() => undefined);
    const futex = await sample(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600));
    const child = await sample(() => spawnSync(process.execPath, ["-e", "setTimeout(() => {}, 600)"]));
    const busy = await sample(() => {
      const end = Date.now() + 600;
      while (Date.now() < end);
    });
    assert.equal(idle1.kind, "syscall");
    assert.equal(child.kind, "syscall");
    // Running, or preempted by another thread of this busy machine (then outside any call).
    assert.ok(busy.kind === "running" || busy.kind === "outside", busy.kind);
    if (idle1.kind !== "syscall" || child.kind !== "syscall" || futex.kind !== "syscall") throw new Error("unexpected readings");
    assert.notEqual(child.arg0, idle1.arg0, "spawnSync waits on an epoll of its own");
    assert.ok(child.sp < idle1.sp, "deeper on the stack than the main loop's wait");
    const waits = new IdleWait(process.arch === "arm64" ? [22, 441] : [232, 281, 441]);
    assert.equal(waits.idle(idle1, false), false, "first seen: not yet known");
    assert.equal(waits.idle(idle2, true), true, "seen again after a turn of the loop: the idle wait");
    assert.equal(waits.idle(futex, true), false, "Atomics.wait");
    assert.equal(waits.idle(child, true), false, "spawnSync");
    assert.equal(waits.idle(busy, true), false, "a busy loop");
    assert.equal(waits.idle(idle2, false), true);
  } finally {
    await worker.terminate();
  }
});

test("openMainThreadProbe opens the main thread's file where Linux has it, and answers", () => {
  const probe = openMainThreadProbe();
  if (process.platform !== "linux") return assert.equal(probe, undefined);
  assert.ok(probe !== undefined);
  // Read from the main thread itself, the reading is "running" (it is reading): never idle.
  assert.equal(probe.idle(true), false);
  probe.close();
});

test("the main thread's syscall line is read as running, blocked outside a call, or a call with its descriptor and stack pointer", () => {
  assert.deepEqual(parseSyscallLine("running\n"), { kind: "running" });
  assert.deepEqual(parseSyscallLine("-1 0x7ffe7942c470 0x7efecd326cae\n"), { kind: "outside" });
  assert.deepEqual(parseSyscallLine("281 0xe 0x7ffe7942d1d0 0x400 0xffffffff 0x0 0x8 0x7ffe7942c470 0x7efecd326cae\n"), { kind: "syscall", nr: 281, arg0: 0xen, sp: 0x7ffe7942c470n });
  assert.deepEqual(parseSyscallLine("281 0xe"), { kind: "unknown" });
  assert.deepEqual(parseSyscallLine(""), { kind: "unknown" });
});

test("the idle wait is learned from two readings around an answered ping, and a wait deeper on the stack (a loop inside a callback) is never idle", () => {
  const wait = (fd: bigint, sp: bigint): ThreadState => ({ kind: "syscall", nr: 281, arg0: fd, sp });
  const waits = new IdleWait([232, 281]);
  assert.equal(waits.idle(wait(14n, 1000n), false), false, "a candidate: pinged");
  assert.equal(waits.idle(wait(14n, 1000n), true), true, "again after the answer: learned");
  assert.equal(waits.idle(wait(14n, 1000n), false), true);
  assert.equal(waits.idle({ kind: "running" }, false), false, "running: maybe a stall");
  assert.equal(waits.idle({ kind: "syscall", nr: 202, arg0: 14n, sp: 1000n }, true), false, "another call (a futex): maybe a stall");
  assert.equal(waits.idle(wait(23n, 800n), true), false, "a deeper wait (spawnSync's loop)");
  assert.equal(waits.idle(wait(23n, 800n), true), false, "deeper: never learned");
  assert.equal(waits.idle(wait(14n, 1000n), false), true, "the idle loop still is");

  const first = new IdleWait([281]);
  assert.equal(first.idle(wait(23n, 800n), false), false);
  assert.equal(first.idle(wait(23n, 800n), false), false, "not after an answered ping: not learned");
  assert.equal(first.idle(wait(23n, 800n), true), true, "learned (a nested wait seen twice around a turn of the loop)");
  assert.equal(first.idle(wait(14n, 1000n), true), false, "a higher wait: a candidate");
  assert.equal(first.idle(wait(14n, 1000n), true), true, "replaces it");
  assert.equal(first.idle(wait(23n, 800n), true), false, "the deeper one is no longer idle");
});

