import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSpool } from "../../src/spool/spool.js";
import { jsonBody } from "../../src/payload.js";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { CLIENT_DIR } from "../helpers/project.js";

const cli = join(CLIENT_DIR, "dist/cli.mjs");

test("check sends a test report with the environment's configuration and prints the rxid; exit code 1 when refused", async () => {
  const receiver = await startReceiver({ script: (i) => (i === 0 ? undefined : { status: 401, body: "bad token" }) });
  try {
    const env = { BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "s3cr3t-token", BACKTRACE_SPOOL: "off" };
    const ok = await runNode([cli, "check"], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^accepted: rxid \S+, uuid [0-9a-f-]{36}$/m);
    assert.equal(receiver.requests.length, 1);
    assert.match(receiver.requests[0]!.url, /token=s3cr3t-token/);
    const refused = await runNode([cli, "check"], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /^not accepted: /m);
    assert.doesNotMatch(ok.stdout + ok.stderr + refused.stdout + refused.stderr, /s3cr3t-token/);
    const bad = await runNode([cli, "check"], { env: { ...env, BACKTRACE_TIMEOUT: "never" } });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /BACKTRACE_TIMEOUT/);
  } finally {
    await receiver.close();
  }
});

test("spool list, inspect (token masked) and clear work on the configured spool; --help for each", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-cli-spool-"));
  try {
    const spool = createSpool({ dir });
    const uuid = "0b6c2f1e-5f43-4a8e-9d0e-2a1f1c3d4e5f";
    const text = JSON.stringify({ uuid, attributes: { note: "sent to http://127.0.0.1:1/post?token=s3cr3t-token" } });
    assert.ok(await spool.write({ uuid, json: jsonBody(text), attachments: [] }));
    const env = { BACKTRACE_ENDPOINT: "http://127.0.0.1:1", BACKTRACE_TOKEN: "s3cr3t-token", BACKTRACE_SPOOL: dir };
    const list = await runNode([cli, "spool", "list"], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${uuid}\\s+\\d+s\\s+\\d+ B$`, "m"));
    const shown = await runNode([cli, "inspect", uuid], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /"note"/);
    assert.doesNotMatch(shown.stdout, /s3cr3t-token/);
    assert.equal((await spool.list()).length, 1, "inspect leaves the record in the spool");
    const cleared = await runNode([cli, "spool", "clear"], { env });
    assert.match(cleared.stdout, /deleted 1 report/);
    assert.equal((await spool.list()).length, 0);
    for (const args of [["--help"], ["check", "--help"], ["spool", "--help"], ["inspect", "--help"]]) {
      const help = await runNode([cli, ...args], { env });
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: backtrace-ts/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
