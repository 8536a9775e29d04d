// Storm control's window in real processes: a report waiting out its window neither keeps the process up nor is lost
// when the process ends on its own, and a kill -9 during the window loses nothing (the journal has it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { CLIENT_DIR } from "../helpers/project.js";

const LIB = join(CLIENT_DIR, "dist/index.cjs");

function app(dir: string, body: string): string {
  const file = join(dir, "app.cjs");
  writeFileSync(
    file,
    `const bt = require(${JSON.stringify(LIB)});\n` +
      `bt.initialize({ endpoint: process.env.BT_ENDPOINT, token: "t", spool: process.env.BT_SPOOL, aggregateWindow: 30, exitTimeout: 5 });\n` +
      body,
  );
  return file;
}

test("a report in its window is sent when the process ends on its own, which it does at once (the window holds nothing up)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-window-"));
  const receiver = await startReceiver();
  try {
    const file = app(dir, 'bt.sendException(new Error("at the end"));\nconsole.log("done");\n');
    const result = await runNode([file], { env: { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: join(dir, "spool") } }, 10_000);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "done\n");
    assert.equal(receiver.requests.length, 1, "sent before exit, not after a 30 s window");
    assert.equal((receiver.requests[0]!.report as { attributes: Record<string, unknown> }).attributes["error.message"], "at the end");
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("kill -9 while reports wait out their window: the next start sends them, merged count and uuid kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-window-kill-"));
  const receiver = await startReceiver();
  try {
    const env = { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: join(dir, "spool") };
    const file = app(
      dir,
      'const e = (i) => new Error(`job ${i} failed`);\n' +
        'setTimeout(() => { for (let i = 0; i < 5; i++) bt.sendException(e(i)); console.log("sent"); setTimeout(() => process.kill(process.pid, "SIGKILL"), 300); }, 10);\n',
    );
    const killed = await runNode([file], { env }, 10_000);
    assert.equal(killed.signal, "SIGKILL");
    assert.equal(killed.stdout, "sent\n");
    assert.equal(receiver.requests.length, 0, "nothing went out during the window");
    const next = app(dir, "setTimeout(() => bt.flush(5), 1500);\n");
    const restarted = await runNode([next], { env }, 15_000);
    assert.equal(restarted.code, 0, restarted.stderr);
    await receiver.waitFor(1);
    assert.equal(receiver.requests.length, 1);
    assert.equal(new URL(receiver.requests[0]!.url, "http://x").searchParams.get("_mod_duplicate"), "5");
    assert.match(String((receiver.requests[0]!.report as { attributes: Record<string, unknown> }).attributes["error.message"]), /^job 0 failed$/);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
