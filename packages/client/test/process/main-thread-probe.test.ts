// Reading where the main thread is from Linux's syscall file: real readings of this test's own main thread, taken by a
// worker while the main thread waits idle, blocks in Atomics.wait, runs spawnSync and spins; and the rules on them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { IdleWait, LEARN_TRIES, openMainThreadProbe, parseSyscallLine, sharesAFile, watchedFiles, type ThreadState } from "../../src/process/main-thread-probe.js";

// The worker reads the main thread's syscall line 200 ms after each request, and posts it (delivered once the main loop turns).
const SAMPLER = `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync } = require("node:fs");
const fd = openSync("/proc/self/syscall", "r");
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
    assert.equal(waits.look(idle1), "candidate", "first seen: not yet known");
    assert.equal(waits.confirm(idle2, () => true), true, "read back in it at once after the answer: the idle wait");
    assert.equal(waits.look(futex), "other", "Atomics.wait");
    assert.equal(waits.look(child), "other", "spawnSync");
    assert.equal(waits.look(busy), "other", "a busy loop");
    assert.equal(waits.look(idle2), "idle");
  } finally {
    await worker.terminate();
  }
});

test("openMainThreadProbe opens the main thread's file where Linux has it, and answers", () => {
  const probe = openMainThreadProbe();
  if (process.platform !== "linux") return assert.equal(probe, undefined);
  assert.ok(probe !== undefined);
  // Read from the main thread itself, the reading is "running" (it is reading): never idle.
  assert.equal(probe.look(), "other");
  assert.equal(probe.confirm(), false, "no candidate: nothing learned");
  probe.close();
});

test("real readings: two spawnSync calls from the same place wait alike (same descriptor number, same stack pointer) on different epoll instances", async () => {
  if (process.platform !== "linux") return;
  // Reads the syscall line, then the fdinfo of the descriptor it names, while the main thread waits in the child.
  const worker = new Worker(
    `
const { parentPort } = require("node:worker_threads");
const { openSync, readSync, readFileSync } = require("node:fs");
const fd = openSync("/proc/self/syscall", "r");
const buffer = Buffer.alloc(256);
const sleep = new Int32Array(new SharedArrayBuffer(4));
parentPort.on("message", () => {
  Atomics.wait(sleep, 0, 0, 200);
  const line = buffer.toString("latin1", 0, readSync(fd, buffer, 0, 256, 0));
  let info = "";
  try { info = readFileSync("/proc/self/fdinfo/" + BigInt(line.split(" ")[1]), "latin1"); } catch {}
  parentPort.postMessage({ line, info });
});`,
    { eval: true },
  );
  try {
    const poll = (): void => void spawnSync(process.execPath, ["-e", "setTimeout(() => {}, 600)"]);
    const sample = async (block: () => void): Promise<{ line: string; info: string }> => {
      const reading = new Promise<{ line: string; info: string }>((resolve) => worker.once("message", resolve));
      // From an immediate each time: the same native and JavaScript stack below the call, as an application's poll has.
      setImmediate(() => {
        worker.postMessage(0);
        block();
      });
      return reading;
    };
    const idle1 = await sample(() => undefined);
    const idle2 = await sample(() => undefined);
    const first = await sample(poll);
    const second = await sample(poll);
    assert.ok(sharesAFile(watchedFiles(idle1.info), watchedFiles(idle2.info)), `the main loop's instance, read twice: ${idle1.info}`);
    const [a, b] = [parseSyscallLine(first.line), parseSyscallLine(second.line)];
    if (a.kind !== "syscall" || b.kind !== "syscall") throw new Error(`unexpected readings: ${first.line} ${second.line}`);
    assert.equal(a.arg0, b.arg0, "the new epoll opens at the same number");
    assert.equal(a.sp, b.sp, "at the same depth of the stack");
    assert.ok(first.info.includes("tfd:"), first.info);
    assert.ok(watchedFiles(first.info).size > 0, first.info);
    assert.ok(!sharesAFile(watchedFiles(first.info), watchedFiles(second.info)), `the instances watch files of their own: told apart\n${first.info}\n${second.info}`);
    assert.ok(!sharesAFile(watchedFiles(idle1.info), watchedFiles(second.info)), "nor is either the main loop's");
  } finally {
    await worker.terminate();
  }
});

test("the main thread's syscall line is read as running, blocked outside a call, or a call with its descriptor and stack pointer", () => {
  assert.deepEqual(parseSyscallLine("running\n"), { kind: "running" });
  assert.deepEqual(parseSyscallLine("-1 0x7ffe7942c470 0x7efecd326cae\n"), { kind: "outside" });
  assert.deepEqual(parseSyscallLine("281 0xe 0x7ffe7942d1d0 0x400 0xffffffff 0x0 0x8 0x7ffe7942c470 0x7efecd326cae\n"), { kind: "syscall", nr: 281, arg0: 0xen, sp: 0x7ffe7942c470n });
  assert.deepEqual(parseSyscallLine("281 0xe"), { kind: "unknown" });
  assert.deepEqual(parseSyscallLine(""), { kind: "unknown" });
});

test("the idle wait is learned only when the thread is read back in it, on the same epoll instance, right after a prompt answer; a wait at or below a learned one is never idle", () => {
  const wait = (fd: bigint, sp: bigint): ThreadState => ({ kind: "syscall", nr: 281, arg0: fd, sp });
  const waits = new IdleWait([232, 281]);
  const same = (): boolean => true;
  const other = (): boolean => false;
  assert.equal(waits.look(wait(14n, 1000n)), "candidate", "a candidate: pinged");
  assert.equal(waits.candidateFd(), 14n);
  assert.equal(waits.confirm(wait(14n, 1000n), other), false, "another epoll instance at that number (a new loop of spawnSync's): not learned");
  assert.equal(waits.look(wait(14n, 1000n)), "candidate", "still a candidate");
  assert.equal(waits.confirm({ kind: "running" }, same), undefined, "not back in a wait yet: read again");
  assert.equal(waits.confirm({ kind: "outside" }, same), undefined);
  assert.equal(waits.confirm(wait(14n, 1000n), same), true, "back in it, same instance: learned");
  assert.equal(waits.confirm(wait(14n, 1000n), same), false, "confirm only once per look");
  assert.equal(waits.look(wait(14n, 1000n)), "idle");
  assert.equal(waits.look({ kind: "running" }), "other", "running: maybe a stall");
  assert.equal(waits.candidateFd(), undefined);
  assert.equal(waits.look({ kind: "syscall", nr: 202, arg0: 14n, sp: 1000n }), "other", "another call (a futex): maybe a stall");
  assert.equal(waits.look(wait(23n, 800n)), "other", "a deeper wait (spawnSync's loop)");
  assert.equal(waits.confirm(wait(23n, 800n), same), false, "deeper: never learned");
  assert.equal(waits.look(wait(23n, 1000n)), "other", "another descriptor at the same depth: never idle");
  assert.equal(waits.look(wait(14n, 1000n)), "idle", "the idle loop still is");

  const first = new IdleWait([281]);
  assert.equal(first.look(wait(23n, 800n)), "candidate");
  assert.equal(first.confirm(wait(23n, 900n), same), false, "another wait (a new loop deeper or higher): dropped");
  assert.equal(first.confirm(wait(23n, 800n), same), false, "dropped: nothing to confirm until the next look");
  assert.equal(first.look(wait(23n, 800n)), "candidate");
  assert.equal(first.confirm(wait(23n, 800n), same), true, "learned (say a nested loop that answered at once)");
  assert.equal(first.look(wait(14n, 1000n)), "candidate", "a higher wait: a candidate");
  assert.equal(first.confirm(wait(14n, 1000n), same), true, "replaces it");
  assert.equal(first.look(wait(23n, 800n)), "other", "the deeper one is no longer idle");
});

test("an epoll's watched files are read from its fdinfo, anonymous inodes (eventfd, shared by every instance) left out", () => {
  const info = (files: string): string => `pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1039\n${files}`;
  const loop = info("tfd:       21 events:       19 data:               15  pos:0 ino:40f sdev:10\ntfd:       19 events:       19 data:               13  pos:0 ino:2c5d2f sdev:f\n");
  assert.deepEqual([...watchedFiles(loop)], ["2c5d2f:f"], "the eventfd (ino 0x40f = 1039, the epoll's own) is left out");
  const later = info("tfd:       19 events:       1d data:               13  pos:0 ino:2c5d2f sdev:f\ntfd:       40 events:       19 data:               28  pos:0 ino:2c7000 sdev:9\n");
  assert.equal(sharesAFile(watchedFiles(loop), watchedFiles(later)), true, "a socket more, the signal pipe still there: the same instance");
  const child = info("tfd:       23 events:       19 data:               17  pos:0 ino:2c6060 sdev:f\ntfd:       25 events:       19 data:               19  pos:0 ino:40f sdev:10\n");
  const next = info("tfd:       23 events:       19 data:               17  pos:0 ino:2c6070 sdev:f\ntfd:       25 events:       19 data:               19  pos:0 ino:40f sdev:10\n");
  assert.equal(sharesAFile(watchedFiles(child), watchedFiles(next)), false, "a new loop at the same numbers, its own pipes: another instance");
  assert.equal(sharesAFile(watchedFiles(info("")), watchedFiles(info(""))), false, "nothing watched: never taken for the same");
  assert.equal(sharesAFile(watchedFiles(loop), undefined), false, "unreadable: not the same");
});

test("an idle wait that cannot be learned (LEARN_TRIES prompt answers in a row not confirmed) is given up on: the CPU-time looks, not a ping at every look", () => {
  const wait = (fd: bigint, sp: bigint): ThreadState => ({ kind: "syscall", nr: 281, arg0: fd, sp });
  const other = (): boolean => false;
  const waits = new IdleWait([281]);
  for (let i = 0; i < LEARN_TRIES - 1; i++) {
    assert.equal(waits.look(wait(14n, 1000n)), "candidate");
    assert.equal(waits.confirm(wait(14n, 1000n), other), false, "no watched file in common: not learned");
  }
  assert.equal(waits.look(wait(14n, 1000n)), "candidate", "one try left");
  assert.equal(waits.confirm(wait(14n, 1000n), () => true), true, "learned at the last try: the count starts again");
  assert.equal(waits.look(wait(14n, 1000n)), "idle");

  const never = new IdleWait([281]);
  for (let i = 0; i < LEARN_TRIES; i++) {
    assert.equal(never.look(wait(14n, 1000n)), "candidate");
    assert.equal(never.confirm(wait(14n, 1000n), other), false);
  }
  assert.equal(never.look({ kind: "running" }), "other", "not a wait: as before");
  assert.equal(never.look(wait(14n, 1000n)), "unlearnable", "given up on");
});
