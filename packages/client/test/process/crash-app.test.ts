// The crash path in applications: one that handles uncaught exceptions itself, what is installed
// and removed, failures inside the handling, attachments and TLS on the blocking send.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startReceiver, type ReceivedRequest } from "../helpers/http-receiver.js";
import { normalizeStderr, runNode, startNode, tempDir, waitUntil } from "../fixtures/crash/child.js";
import { selfSignedCert } from "../helpers/tls.js";

function attributesOf(request: ReceivedRequest | undefined): Record<string, unknown> {
  return (request?.report as { attributes?: Record<string, unknown> } | undefined)?.attributes ?? {};
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => (body += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

/** Runs crash.cjs with and without the library and checks that both end the same way. */
async function assertSameEnding(crash: string, args: string[], env: Record<string, string>): Promise<void> {
  const [without, withLib] = await Promise.all([
    runNode([...args, "crash.cjs"], { CRASH: crash }),
    runNode([...args, "crash.cjs"], { CRASH: crash, ...env }),
  ]);
  assert.equal(withLib.code, without.code, "same exit code as without the library");
  assert.equal(normalizeStderr(withLib.stderr), normalizeStderr(without.stderr), "same stderr as without the library");
}

for (const [path, type, message] of [
  ["/throw", "Unhandled exception", "thrown while serving"],
  ["/reject", "Unhandled rejection", "rejected while serving"],
] as const) {
  test(`an application with its own uncaughtException listener keeps serving after ${path} and the report arrives in the background`, async () => {
    const receiver = await startReceiver();
    const spool = tempDir("spool");
    const child = startNode(["serving.cjs"], { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitUntil(() => stdout.includes("\n"), 10_000, `the app to listen (stderr: ${stderr})`);
      const port = Number(stdout.trim());
      assert.equal((await get(port, path)).status, 200);
      await waitUntil(() => stderr.includes("app handled"), 5_000, "the app's own listener to run");
      assert.deepEqual(await get(port, "/ping"), { status: 200, body: "pong\n" }, "still serving");
      await receiver.waitFor(1);
      assert.equal(attributesOf(receiver.requests[0])["error.type"], type);
      assert.equal(attributesOf(receiver.requests[0])["error.message"], message);
      assert.equal(child.exitCode, null, "still running");
      assert.match(stderr, new RegExp(`app handled ${path === "/throw" ? "uncaughtException" : "unhandledRejection"}: ${message}`));
      await waitUntil(() => readdirSync(spool).filter((f) => f !== ".key" && f !== "fatal").length === 0, 5_000, "an empty spool");
    } finally {
      child.kill();
      await once(child, "close");
      await receiver.close();
      rmSync(spool, { recursive: true, force: true });
    }
  });
}

interface HookSnapshot {
  listeners: Record<string, number>;
  nodeEmit: boolean;
}

async function hookSnapshots(args: string[], env: Record<string, string>): Promise<Record<"before" | "initialized" | "finalized", HookSnapshot>> {
  const result = await runNode([...args, "hooks.cjs"], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<"before" | "initialized" | "finalized", HookSnapshot>;
}

test("disableGlobalHandler: true installs nothing", async () => {
  const { before, initialized, finalized } = await hookSnapshots([], { BT_DISABLE: "1" });
  assert.deepEqual(initialized, before);
  assert.deepEqual(finalized, before);
});

test("the global handler adds one uncaughtExceptionMonitor listener, no rejection or signal listener, leaves process.emit alone, and finalize removes it", async () => {
  for (const args of [[], ["--unhandled-rejections=throw"], ["--unhandled-rejections=strict"]]) {
    const { before, initialized, finalized } = await hookSnapshots(args, {});
    assert.deepEqual(initialized.listeners, { ...before.listeners, uncaughtExceptionMonitor: before.listeners["uncaughtExceptionMonitor"]! + 1 }, args.join(" "));
    assert.equal(initialized.nodeEmit, true, `process.emit is Node's own (${args.join(" ")})`);
    assert.deepEqual(finalized, before);
  }
});

test("under --unhandled-rejections=warn and none, where Node ignores it, one unhandledRejection listener watches rejections", async () => {
  for (const mode of ["warn", "none"]) {
    const { before, initialized, finalized } = await hookSnapshots([`--unhandled-rejections=${mode}`], {});
    assert.equal(initialized.listeners["unhandledRejection"], before.listeners["unhandledRejection"]! + 1, mode);
    assert.equal(initialized.nodeEmit, true, mode);
    assert.deepEqual(finalized, before);
  }
});

test("under --unhandled-rejections=warn-with-error-code process.emit is wrapped, since a listener would count as handling", async () => {
  const { before, initialized, finalized } = await hookSnapshots(["--unhandled-rejections=warn-with-error-code"], {});
  assert.equal(initialized.nodeEmit, false);
  assert.equal(initialized.listeners["unhandledRejection"], before.listeners["unhandledRejection"]);
  assert.deepEqual(finalized, before);
});

for (const mode of ["throw", "strict", "warn", "none"]) {
  for (const event of ["exit", "beforeExit", "signal", "custom"]) {
    test(`an error thrown in a ${event} listener (--unhandled-rejections=${mode}) prints the same stack and exit code as without the library`, async () => {
      const receiver = await startReceiver();
      try {
        const args = [`--unhandled-rejections=${mode}`, "listener-throws.cjs"];
        const [alone, withLibrary] = await Promise.all([
          runNode(args, { EVENT: event }),
          runNode(args, { EVENT: event, BT_ENDPOINT: `http://127.0.0.1:${receiver.port}` }),
        ]);
        assert.match(alone.stderr, new RegExp(`thrown in a ${event} listener`));
        assert.equal(normalizeStderr(withLibrary.stderr), normalizeStderr(alone.stderr));
        assert.equal(withLibrary.code, alone.code);
        assert.equal(withLibrary.signal, alone.signal);
        assert.doesNotMatch(withLibrary.stderr, /backtrace-ts|index\.cjs/);
      } finally {
        await receiver.close();
      }
    });
  }
}

for (const crash of ["exception", "rejection-string"]) {
  test(`a beforeSend that throws on a crash (${crash}) leaves the ending as without the library`, async () => {
    const receiver = await startReceiver();
    const spool = tempDir("spool");
    try {
      await assertSameEnding(crash, [], { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool, BT_BEFORE_SEND: "throw" });
    } finally {
      await receiver.close();
      rmSync(spool, { recursive: true, force: true });
    }
  });
}

test("an unwritable spool folder leaves the ending as without the library, and the report is still sent", async () => {
  const receiver = await startReceiver();
  const dir = tempDir("file");
  const file = join(dir, "not-a-folder");
  writeFileSync(file, "");
  try {
    for (const crash of ["exception", "rejection-error"]) {
      await assertSameEnding(crash, [], { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: join(file, "spool"), BT_EXIT_TIMEOUT: "5" });
    }
    assert.deepEqual(receiver.requests.map((r) => attributesOf(r)["error.type"]), ["Unhandled exception", "Unhandled rejection"]);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unwritable spool folder and a receiver that is down still end the process as without the library", async () => {
  const receiver = await startReceiver();
  const port = receiver.port;
  await receiver.close();
  const dir = tempDir("file");
  const file = join(dir, "not-a-folder");
  writeFileSync(file, "");
  try {
    await assertSameEnding("exception", [], { BT_ENDPOINT: `http://127.0.0.1:${port}`, BT_SPOOL: join(file, "spool") });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the crash report carries the client's attachments as multipart", async () => {
  const receiver = await startReceiver();
  const spool = tempDir("spool");
  const attachment = join(spool, "..", `${spool.split("/").pop()}-app.log`);
  writeFileSync(attachment, "last lines of the log\n");
  try {
    await assertSameEnding("exception", [], { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BT_SPOOL: spool, BT_ATTACHMENT: attachment, BT_EXIT_TIMEOUT: "5" });
    const request = receiver.requests[0];
    assert.equal(request?.validation?.valid, true, JSON.stringify(request?.validation?.errors));
    assert.match(String(request?.headers["content-type"]), /^multipart\/form-data; boundary=/);
    const part = request?.parts?.find((p) => p.name === `attachment_${attachment.split("/").pop()}`);
    assert.equal(part?.data.toString("utf8"), "last lines of the log\n");
    assert.equal(attributesOf(request)["error.type"], "Unhandled exception");
  } finally {
    await receiver.close();
    rmSync(spool, { recursive: true, force: true });
    rmSync(attachment, { force: true });
  }
});


test("the blocking send verifies TLS certificates unless ignoreSslCertificate", async (t) => {
  const tls = selfSignedCert();
  const receiver = await startReceiver({ tls });
  const refusedSpool = tempDir("spool");
  const acceptedSpool = tempDir("spool");
  try {
    const endpoint = `https://127.0.0.1:${receiver.port}`;
    await assertSameEnding("exception", [], { BT_ENDPOINT: endpoint, BT_SPOOL: refusedSpool });
    assert.equal(receiver.requests.length, 0, "a self-signed certificate is refused by default");
    assert.equal(readdirSync(refusedSpool).filter((f) => f !== ".key" && f !== "fatal").length, 1, "so the report waits in the spool");
    await assertSameEnding("exception", [], { BT_ENDPOINT: endpoint, BT_SPOOL: acceptedSpool, BT_IGNORE_SSL: "1", BT_EXIT_TIMEOUT: "5" });
    assert.equal(receiver.requests.length, 1, "accepted with ignoreSslCertificate");
    assert.deepEqual(readdirSync(acceptedSpool).filter((f) => f !== ".key" && f !== "fatal"), []);
  } finally {
    await receiver.close();
    rmSync(refusedSpool, { recursive: true, force: true });
    rmSync(acceptedSpool, { recursive: true, force: true });
  }
});
