// A 3xx is never followed and never loses a report: it waits in the spool until the endpoint answers, in the background and the crash path.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BacktraceClient } from "../../src/index.js";
import { startReceiver, type Receiver } from "../helpers/http-receiver.js";
import { runNode } from "../helpers/child.js";

const repoRoot = new URL("../../../../", import.meta.url);

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "bt-redirect-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const records = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith(".json") && !f.startsWith("."));

async function redirecting(t: TestContext, status: number): Promise<Receiver> {
  const r = await startReceiver({ script: () => ({ status, headers: { location: "https://elsewhere.example/post?token=s3cret" } }) });
  t.after(() => r.close());
  return r;
}

for (const status of [301, 302, 307, 308]) {
  test(`a ${status} keeps the report in the spool, and it is sent once the endpoint answers`, async (t) => {
    const spool = tempDir(t);
    const moved = await redirecting(t, status);
    const messages: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (messages.push(String(chunk)), true)) as typeof process.stderr.write;
    let client: BacktraceClient;
    let outcome;
    try {
      client = new BacktraceClient({ endpoint: moved.url, token: "t0k3n", spool, disableGlobalHandler: true, debugBacktrace: true });
      outcome = await client.sendException(new Error("moved"));
      await client.finalize();
    } finally {
      process.stderr.write = write;
    }
    assert.equal(outcome.status, "failed");
    assert.equal(outcome.status === "failed" && outcome.reason, "redirected");
    assert.equal(outcome.status === "failed" && outcome.spooled, true);
    assert.equal(moved.requests.length, 1, "the redirect was not followed, nor retried at once");
    assert.equal(records(spool).length, 1);
    const said = messages.join("");
    assert.match(said, /a redirect to https:\/\/elsewhere\.example\/post: reports are not sent on/);
    assert.doesNotMatch(said, /s3cret|t0k3n/);

    const good = await startReceiver();
    t.after(() => good.close());
    const next = new BacktraceClient({ endpoint: good.url, token: "t0k3n", spool, disableGlobalHandler: true });
    await good.waitFor(1);
    await next.finalize();
    assert.equal((good.requests[0]!.report as { uuid: string }).uuid, outcome.uuid);
    assert.deepEqual(records(spool), []);
  });
}

test("a replay that meets a redirect keeps the record instead of deleting it", async (t) => {
  const spool = tempDir(t);
  const down = new BacktraceClient({ endpoint: "http://127.0.0.1:9", token: "t", spool, disableGlobalHandler: true, exitTimeout: 0.2 });
  const sending = down.sendException(new Error("queued while down"));
  await down.finalize();
  const first = await sending;
  assert.equal(first.status === "failed" && first.spooled, true);
  const moved = await redirecting(t, 308);
  const replaying = new BacktraceClient({ endpoint: moved.url, token: "t", spool, disableGlobalHandler: true });
  await moved.waitFor(1);
  await replaying.finalize();
  assert.equal(records(spool).length, 1, "the record is still there");
  assert.equal(replaying.counters().dropped["rejected"], undefined);
});

test("a crash report answered with a 308 stays in the spool and arrives with the next run", async (t) => {
  const spool = tempDir(t);
  const moved = await redirecting(t, 308);
  const script = `const bt = require("backtrace-ts");
    bt.initialize({ endpoint: process.env.BT_URL, token: "t", spool: process.env.BT_SPOOL, exitTimeout: 3 });
    setTimeout(() => { throw new Error("crash under a redirect"); }, 10);`;
  const crashed = await runNode(["-e", script], { cwd: new URL(".", repoRoot).pathname, env: { BT_URL: moved.url, BT_SPOOL: spool } });
  assert.equal(crashed.code, 1);
  assert.equal(moved.requests.length, 1);
  assert.equal(records(spool).length, 1);
  // A next run that meets the redirect again keeps the record too.
  const again = new BacktraceClient({ endpoint: moved.url, token: "t", spool, disableGlobalHandler: true });
  await moved.waitFor(2);
  await again.finalize();
  assert.equal(records(spool).length, 1);
  const good = await startReceiver();
  t.after(() => good.close());
  const next = new BacktraceClient({ endpoint: good.url, token: "t", spool, disableGlobalHandler: true });
  await good.waitFor(1);
  await next.finalize();
  assert.equal((good.requests[0]!.report as { attributes: Record<string, unknown> }).attributes["error.message"], "crash under a redirect");
  assert.deepEqual(records(spool), []);
});
