import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
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

test("spool replay sends the spooled reports and the diagnostic reports of fatal errors, then exits 0; 1 while the endpoint refuses", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-cli-replay-"));
  let receiver = await startReceiver({ script: () => ({ status: 503 }) });
  try {
    const spoolDir = join(dir, "spool");
    const spool = createSpool({ dir: spoolDir });
    const uuids = ["0b6c2f1e-5f43-4a8e-9d0e-2a1f1c3d4e51", "0b6c2f1e-5f43-4a8e-9d0e-2a1f1c3d4e52"];
    for (const uuid of uuids) assert.ok(await spool.write({ uuid, json: jsonBody(JSON.stringify({ uuid, attributes: { n: uuid } })), attachments: [] }));
    // A process that wrote a diagnostic report (as Node does at a fatal error) into the spool's fatal folder.
    const app = join(dir, "app.cjs");
    writeFileSync(app, `require(${JSON.stringify(join(CLIENT_DIR, "dist/index.cjs"))}).initialize({ endpoint: "http://127.0.0.1:1", token: "t", spool: ${JSON.stringify(spoolDir)}, disableGlobalHandler: true, timeout: 0.2, exitTimeout: 0.2 });\nprocess.report.writeReport();\n`);
    const wrote = await runNode([app], { env: { BACKTRACE_ENDPOINT: undefined } });
    assert.equal(wrote.code, 0, wrote.stderr);
    assert.equal(readdirSync(join(spoolDir, "fatal")).filter((name) => name.startsWith("report.")).length, 1);
    const env = () => ({ BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "t0k3n", BACKTRACE_SPOOL: spoolDir, BACKTRACE_TIMEOUT: "1" });
    const listed = await runNode([cli, "spool", "list"], { env: env() });
    assert.match(listed.stdout, /^spool: .* \(3 reports\)$/m);
    for (const uuid of uuids) assert.match(listed.stdout, new RegExp(`^${uuid}\\s`, "m"));
    assert.match(listed.stdout, /^report\.\S+\.json\s+\d+s\s+\d+ B\s+fatal error/m);
    const refused = await runNode([cli, "spool", "replay"], { env: env() });
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout, /^sent 0 of 3; 3 left in /m);
    assert.ok(receiver.requests.length >= 3, "each was tried");
    await receiver.close();
    receiver = await startReceiver();
    const sent = await runNode([cli, "spool", "replay"], { env: env() });
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    assert.match(sent.stdout, /^sent 3 of 3; 0 left in /m);
    const bodies = receiver.requests.map((request) => request.report as { uuid: string; classifiers?: string[] });
    assert.deepEqual(bodies.map((body) => body.uuid).filter((uuid) => uuids.includes(uuid)).sort(), uuids);
    const made = bodies.filter((body) => !uuids.includes(body.uuid));
    assert.equal(made.length, 1, "the diagnostic report became one report");
    assert.deepEqual(made[0]!.classifiers, ["API"], "classified by the report's trigger (writeReport's is API)");
    assert.deepEqual(readdirSync(join(spoolDir, "fatal")).filter((name) => name.startsWith("report.")), []);
    assert.match((await runNode([cli, "spool", "list"], { env: env() })).stdout, /^spool: .* \(0 reports\)\n$/);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the command runs when the environment preloads the client too (NODE_OPTIONS with --require or --import backtrace-ts/register)", async () => {
  const receiver = await startReceiver({});
  try {
    const env = { BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "t0k3n", BACKTRACE_SPOOL: "off" };
    for (const preload of [`--require ${join(CLIENT_DIR, "dist/register.cjs")}`, `--import ${pathToFileURL(join(CLIENT_DIR, "dist/register.mjs")).href}`]) {
      const help = await runNode([cli, "--help"], { env: { ...env, NODE_OPTIONS: preload } });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^Usage: backtrace-ts/, `${preload}: ${help.stderr}`);
      const check = await runNode([cli, "check"], { env: { ...env, NODE_OPTIONS: preload } });
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /^accepted: rxid \S+, uuid [0-9a-f-]{36}$/m, preload);
    }
  } finally {
    await receiver.close();
  }
});
