import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as bt from "../../src/index.js";
import { startReceiver, withReceiver } from "../helpers/http-receiver.js";
import { reservedPort } from "../helpers/ports.js";
import { collect, runNode, startNode, type ChildResult } from "../helpers/child.js";

// Child processes load the built package, as an application would.
const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

function run(args: string[], env: Record<string, string> = {}): Promise<ChildResult> {
  return runNode(args, { cwd: repoRoot, env });
}


test("the package loads with import and with require, with the same API", async () => {
  const names = "initialize,sendException,sendReport,finalize,flush,BacktraceClient,BacktraceReport,BacktraceConfigError";
  const esm = await run(["--input-type=module", "-e", `import * as bt from "backtrace-ts"; console.log("${names}".split(",").map((n) => typeof bt[n]).join())`]);
  const cjs = await run(["-e", `const bt = require("backtrace-ts"); console.log("${names}".split(",").map((n) => typeof bt[n]).join())`]);
  assert.equal(esm.stderr, "");
  assert.equal(cjs.stderr, "");
  assert.equal(esm.stdout.trim(), "function,function,function,function,function,function,function,function");
  assert.equal(cjs.stdout, esm.stdout);
});

test("pending reports are flushed when the process ends normally", () =>
  withReceiver(async (receiver) => {
    const script = `
      const bt = require("backtrace-ts");
      bt.initialize({ endpoint: "http://127.0.0.1:${receiver.port}", token: "t", disableGlobalHandler: true, spool: false });
      bt.sendException(new Error("sent at exit"));
      bt.sendReport("and a message");
    `;
    const result = await run(["-e", script]);
    assert.equal(result.code, 0);
    assert.equal(receiver.requests.length, 2);
    const messages = receiver.requests.map((r) => (r.report as { attributes: Record<string, unknown> }).attributes["error.message"]).sort();
    assert.deepEqual(messages, ["and a message", "sent at exit"]);
  }));

test("debugBacktrace prints the URL with the token hidden, the size and the answer", () =>
  withReceiver(async (receiver) => {
    const script = `
      const bt = require("backtrace-ts");
      bt.initialize({ endpoint: "http://127.0.0.1:${receiver.port}", token: "supersecret", debugBacktrace: true, disableGlobalHandler: true, spool: false });
      bt.sendException(new Error("debug me")).then((outcome) => console.log(outcome.status));
    `;
    const result = await run(["-e", script]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), "sent");
    assert.match(result.stderr, /backtrace-ts: .*token=\*\*\*/);
    assert.match(result.stderr, /backtrace-ts: .*\d+ bytes/);
    assert.match(result.stderr, /backtrace-ts: report [0-9a-f-]+: sent; the server answered ok with rxid [0-9a-f-]+/);
    assert.match(result.stderr, /backtrace-ts: counters at exit: \{"sent":1,/);
    assert.doesNotMatch(result.stderr, /supersecret/);
  }));

test("without debugBacktrace the library prints nothing", () =>
  withReceiver(async (receiver) => {
    const script = `
      const bt = require("backtrace-ts");
      bt.initialize({ endpoint: "http://127.0.0.1:${receiver.port}", token: "t", disableGlobalHandler: true, spool: false });
      bt.sendException(new Error("quiet"));
    `;
    const result = await run(["-e", script]);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, "");
  }));

test("the module-level calls go through the default client", () =>
  withReceiver(async (receiver) => {
    const client = bt.initialize({ endpoint: `http://127.0.0.1:${receiver.port}`, token: "t", disableGlobalHandler: true, spool: false });
    assert.equal(bt.getClient(), client);
    await bt.sendException(new Error("module level"), { attributes: { via: "module" } });
    await bt.sendReport("module message");
    const report = new bt.BacktraceReport();
    report.setAttribute("via", "report");
    await report.send();
    await bt.finalize();
    assert.equal(bt.getClient(), undefined);
    assert.equal(receiver.requests.length, 3);
    const via = receiver.requests.map((r) => (r.report as { attributes: Record<string, unknown> }).attributes["via"]);
    assert.deepEqual(via, ["module", undefined, "report"]);
    const after = await bt.sendReport("after finalize");
    assert.equal(after.status, "dropped");
  }));

test("a report in flight when the app calls process.exit() is spooled, and the next run delivers it with the same uuid", async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const spool = mkdtempSync(join(tmpdir(), "bt-exit-spool-"));
  // The receiver of the next run comes back on this port: one the system hands to no one meanwhile.
  const hanging = await startReceiver({ script: () => ({ hang: true }), port: await reservedPort() });
  const port = hanging.port;
  const init = `bt.initialize({ endpoint: "http://127.0.0.1:${port}", token: "t", disableGlobalHandler: true, spool: ${JSON.stringify(spool)},
    beforeSend: (report) => { console.log(report.uuid); return report; } })`;
  try {
    // The app exits on the next tick once its report is in flight to a server that never answers.
    const first = await run(["-e", `
      const bt = require("backtrace-ts");
      const client = ${init};
      bt.sendException(new Error("in flight at exit"));
      const wait = setInterval(() => {
        if (client.counters().inFlight === 0) return;
        clearInterval(wait);
        process.nextTick(() => process.exit(3));
      }, 1);
    `]);
    assert.equal(first.code, 3, first.stderr);
    const uuid = first.stdout.trim();
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.equal(readdirSync(spool).filter((f) => f.endsWith(".json")).length, 1);
    await hanging.close();

    // The next run, same endpoint and spool, against a server that answers; it runs until the report arrives.
    const receiver = await startReceiver({ port });
    try {
      const second = startNode(["-e", `const bt = require("backtrace-ts"); ${init}; process.stdin.resume();`], { cwd: repoRoot, stdin: true });
      const exited = collect(second);
      try {
        await receiver.waitFor(1);
      } finally {
        second.stdin?.end();
      }
      const { code, stderr } = await exited;
      assert.equal(code, 0, stderr);
      assert.equal(receiver.requests.length, 1);
      assert.equal((receiver.requests[0]!.report as { uuid: string }).uuid, uuid);
      assert.deepEqual(receiver.requests[0]!.validation?.errors, []);
    } finally {
      await receiver.close();
    }
  } finally {
    await hanging.close();
    rmSync(spool, { recursive: true, force: true });
  }
});

test("reports made just before process.exit() are built and spooled at exit, and the next run sends them", async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const spool = mkdtempSync(join(tmpdir(), "bt-exit-now-"));
  // Down for the first run, back on the same port for the next: one the system hands to no one meanwhile.
  const port = await reservedPort();
  const init = `bt.initialize({ endpoint: "http://127.0.0.1:${port}", token: "t", disableGlobalHandler: true, spool: ${JSON.stringify(spool)} })`;
  try {
    const first = await run(["-e", `
      const bt = require("backtrace-ts");
      ${init};
      bt.sendException(new Error("made right before exit"));
      bt.sendReport("and a message");
      process.exit(4);
    `]);
    assert.equal(first.code, 4, first.stderr);
    assert.equal(first.stderr, "");
    assert.equal(readdirSync(spool).filter((f) => f.endsWith(".json")).length, 2);

    const again = await startReceiver({ port });
    try {
      const second = run(["-e", `const bt = require("backtrace-ts"); ${init}; setTimeout(() => {}, 3000);`]);
      await again.waitFor(2);
      const messages = again.requests.map((r) => (r.report as { attributes: Record<string, unknown> }).attributes["error.message"]).sort();
      assert.deepEqual(messages, ["and a message", "made right before exit"]);
      assert.equal((await second).code, 0);
    } finally {
      await again.close();
    }
  } finally {
    rmSync(spool, { recursive: true, force: true });
  }
});

test("an application that loads both builds has one default client", () =>
  withReceiver(async (receiver) => {
    const script = `
      import * as bt from "backtrace-ts";
      import { createRequire } from "node:module";
      const required = createRequire(process.cwd() + "/")("backtrace-ts");
      bt.initialize({ endpoint: "http://127.0.0.1:${receiver.port}", token: "t", disableGlobalHandler: true, spool: false });
      const outcome = await required.sendReport("from the CommonJS build");
      console.log(outcome.status, required.getClient() === bt.getClient());
    `;
    const result = await run(["--input-type=module", "-e", script]);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout.trim(), "sent true");
    assert.equal(receiver.requests.length, 1);
  }));

test("a report being built when process.exit() runs is spooled, not lost", async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const spool = mkdtempSync(join(tmpdir(), "bt-exit-building-"));
  try {
    const result = await run(["-e", `
      const bt = require("backtrace-ts");
      bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", disableGlobalHandler: true, spool: ${JSON.stringify(spool)} });
      bt.sendException(new Error("mid-build"));
      setImmediate(() => setImmediate(() => process.exit(0)));
    `]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readdirSync(spool).filter((f) => f.endsWith(".json")).length, 1);
  } finally {
    rmSync(spool, { recursive: true, force: true });
  }
});

test("many clients share one set of process hooks: no listener warning, all removed by finalize", async () => {
  const script = `
    const bt = require("backtrace-ts");
    const emit = process.emit;
    const counts = () => ["uncaughtExceptionMonitor", "beforeExit", "exit"].map((e) => process.listenerCount(e)).join(",");
    const before = counts();
    const clients = Array.from({ length: 15 }, () => new bt.BacktraceClient({ endpoint: "http://127.0.0.1:9", token: "t", spool: false, exitTimeout: 0.2 }));
    const idle = counts();
    for (const c of clients) c.sendReport("pending");
    const pending = counts();
    Promise.all(clients.map((c) => c.finalize())).then(() => console.log(before, idle, pending, counts(), process.emit === emit));
  `;
  const result = await run(["-e", script]);
  assert.equal(result.stderr, "");
  // The exit listeners are there only while reports are pending, one of each for all clients.
  assert.equal(result.stdout.trim(), "0,0,0 1,0,0 1,1,1 0,0,0 true");
});
