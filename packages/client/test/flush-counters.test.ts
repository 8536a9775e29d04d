// flush() counts the report being built and clamps its deadline; counters only grow, through the exit wait and the crash path.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BacktraceClient } from "../src/index.js";
import { startReceiver } from "./helpers/http-receiver.js";
import { runNode } from "./helpers/child.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "bt-counters-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const timeout of [0, 0.001, -1, Number.NaN]) {
  test(`flush(${timeout}) right after a send says false: the report being built is pending`, async (t) => {
    // The answer takes longer than any of these deadlines, so the report is pending whenever flush looks.
    const r = await startReceiver({ script: () => ({ delayMs: 300 }) });
    t.after(() => r.close());
    const client = new BacktraceClient({ endpoint: r.url, token: "t", spool: false, disableGlobalHandler: true });
    const sent = client.sendException(new Error("pending"));
    assert.equal(await client.flush(timeout), false);
    assert.equal((await sent).status, "sent");
    assert.equal(await client.flush(timeout), true, "nothing is pending any more");
    await client.finalize();
  });
}

test("a huge flush deadline is clamped: no TimeoutOverflowWarning, and it resolves when the report is sent", async (t) => {
  const r = await startReceiver();
  t.after(() => r.close());
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.name);
  process.on("warning", onWarning);
  t.after(() => process.off("warning", onWarning));
  const client = new BacktraceClient({ endpoint: r.url, token: "t", spool: false, disableGlobalHandler: true });
  void client.sendException(new Error("x"));
  assert.equal(await client.flush(1e12), true);
  assert.equal(r.requests.length, 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(warnings, []);
  await client.finalize();
});

test("counters keep what the exit wait gave up on, and every report it held is on disk at exit", async (t) => {
  const spool = tempDir(t);
  const hanging = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => hanging.close());
  const script = `const bt = require("backtrace-ts");
    const client = bt.initialize({ endpoint: process.env.BT_URL, token: "t", spool: process.env.BT_SPOOL, exitTimeout: 0.5, disableGlobalHandler: true, aggregateDuplicates: false });
    for (let i = 0; i < 3; i++) bt.sendException(new Error("held " + i));
    process.on("exit", () => console.log(JSON.stringify(client.counters())));`;
  const run = await runNode(["-e", script], { cwd: repoRoot, env: { BT_URL: hanging.url, BT_SPOOL: spool } });
  assert.equal(run.code, 0, run.stderr);
  const counters = JSON.parse(run.stdout) as { captured: number; failed: number; spooled: number };
  assert.equal(counters.captured, 3);
  assert.equal(counters.spooled, 3, run.stdout);
  assert.equal(counters.failed, 3, run.stdout);

  const good = await startReceiver();
  t.after(() => good.close());
  const next = new BacktraceClient({ endpoint: good.url, token: "t", spool, disableGlobalHandler: true });
  await good.waitFor(3);
  await next.finalize();
  assert.equal(next.counters().replayed, 3);
});

test("a crash report is counted: captured and sent, or spooled when the endpoint is down", async (t) => {
  const good = await startReceiver();
  t.after(() => good.close());
  const script = (url: string) => `const bt = require("backtrace-ts");
    const client = bt.initialize({ endpoint: ${JSON.stringify(url)}, token: "t", spool: process.env.BT_SPOOL, exitTimeout: 2 });
    process.on("exit", () => console.log(JSON.stringify(client.counters())));
    setTimeout(() => { throw new Error("counted crash"); }, 10);`;
  const sent = await runNode(["-e", script(good.url)], { cwd: repoRoot, env: { BT_SPOOL: tempDir(t) } });
  assert.equal(sent.code, 1);
  const afterSent = JSON.parse(sent.stdout) as { captured: number; sent: number; failed: number };
  assert.deepEqual([afterSent.captured, afterSent.sent, afterSent.failed], [1, 1, 0]);

  const down = await runNode(["-e", script("http://127.0.0.1:9")], { cwd: repoRoot, env: { BT_SPOOL: tempDir(t) } });
  assert.equal(down.code, 1);
  const afterDown = JSON.parse(down.stdout) as { captured: number; sent: number; spooled: number; failed: number };
  assert.deepEqual([afterDown.captured, afterDown.sent, afterDown.spooled, afterDown.failed], [1, 0, 1, 1]);
});

test("flush is an async method: called without its client (passed as a callback) it rejects, it never throws where it is called", async (t) => {
  const r = await startReceiver();
  t.after(() => r.close());
  const client = new BacktraceClient({ endpoint: r.url, token: "t", spool: false, disableGlobalHandler: true });
  t.after(() => client.finalize());
  const unbound = client.flush as (timeout?: number) => Promise<boolean>;
  let returned: Promise<boolean> | undefined;
  assert.doesNotThrow(() => {
    returned = unbound();
  });
  await assert.rejects(returned!, TypeError);
});
