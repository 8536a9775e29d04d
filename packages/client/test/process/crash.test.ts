// The crash path against real child processes and a real receiver: every crash kind, every
// --unhandled-rejections mode, a receiver that answers, is down, or never answers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startReceiver, type ReceivedRequest, type Receiver } from "../helpers/http-receiver.js";
import { reservedPort } from "../helpers/ports.js";
import { normalizeStderr, runNode, spoolRecords, startNode, tempDir, waitUntil, type ChildResult } from "../fixtures/crash/child.js";

type Crash = "exception" | "rejection-error" | "rejection-string";
type Mode = "throw" | "strict" | "warn" | "warn-with-error-code" | "none";
type Server = "answering" | "down" | "hanging";
type Via = "flag" | "NODE_OPTIONS";

const crashes: Crash[] = ["exception", "rejection-error", "rejection-string"];
const modes: Mode[] = ["throw", "strict", "warn", "warn-with-error-code", "none"];
const servers: Server[] = ["answering", "down", "hanging"];

const expected: Record<Crash, { type: string; message: string }> = {
  exception: { type: "Unhandled exception", message: "boom from a timer" },
  "rejection-error": { type: "Unhandled rejection", message: "rejected with an Error" },
  "rejection-string": { type: "Unhandled rejection", message: "rejected with a string" },
};

// Seconds: short where the receiver hangs (that is the bound under test), generous elsewhere so a
// busy machine cannot turn a delivered report into a spooled one.
const exitTimeout: Record<Server, number> = { answering: 5, down: 5, hanging: 1 };

function invocation(crash: Crash, mode: Mode, via: Via): { args: string[]; env: Record<string, string> } {
  const flag = `--unhandled-rejections=${mode}`;
  return via === "flag"
    ? { args: [flag, "crash.cjs"], env: { CRASH: crash } }
    : { args: ["crash.cjs"], env: { CRASH: crash, NODE_OPTIONS: flag } };
}

// The same script without the library, run once per invocation and shared by the tests.
const baselines = new Map<string, Promise<ChildResult>>();
function withoutLibrary(crash: Crash, mode: Mode, via: Via): Promise<ChildResult> {
  const key = `${crash} ${mode} ${via}`;
  let result = baselines.get(key);
  if (!result) {
    const { args, env } = invocation(crash, mode, via);
    result = runNode(args, env);
    baselines.set(key, result);
  }
  return result;
}

function uuidOf(request: ReceivedRequest): unknown {
  return (request.report as { uuid?: unknown } | undefined)?.uuid;
}

function assertReport(request: ReceivedRequest | undefined, crash: Crash): void {
  assert.ok(request, "a report arrived");
  assert.equal(request.validation?.valid, true, `valid report: ${JSON.stringify(request.validation?.errors)}`);
  const attributes = (request.report as { attributes: Record<string, unknown> }).attributes;
  assert.equal(attributes["error.type"], expected[crash].type);
  assert.equal(attributes["error.message"], expected[crash].message);
}

async function scenario(crash: Crash, mode: Mode, via: Via, server: Server): Promise<void> {
  const spool = tempDir("spool");
  const markDir = tempDir("mark");
  const mark = join(markDir, "crashed-at");
  let hang = server === "hanging";
  // Down, the receiver comes back on its port for the next run, while other scenarios start theirs on port 0: a port
  // the system hands to no one meanwhile (one of theirs would otherwise get the report, and this one not start).
  const receiver = await startReceiver({ script: () => (hang ? { hang: true } : undefined), ...(server === "down" ? { port: await reservedPort() } : {}) });
  const port = receiver.port;
  if (server === "down") await receiver.close();
  let later: Receiver | undefined;
  try {
    const endpoint = `http://127.0.0.1:${port}`;
    const { args, env } = invocation(crash, mode, via);
    const [without, withLib] = await Promise.all([
      withoutLibrary(crash, mode, via),
      runNode(args, { ...env, BT_ENDPOINT: endpoint, BT_SPOOL: spool, BT_MARK: mark, BT_EXIT_TIMEOUT: String(exitTimeout[server]) }),
    ]);

    assert.equal(withLib.signal, null, "ended by itself");
    assert.equal(withLib.code, without.code, "same exit code as without the library");
    assert.equal(normalizeStderr(withLib.stderr), normalizeStderr(without.stderr), "same stderr as without the library");

    if (server === "answering") {
      // Read as soon as the process has exited: the report must already be there.
      const delivered = receiver.requests.filter((r) => uuidOf(r) !== undefined);
      assert.equal(delivered.length, 1, "one report at exit");
      assertReport(delivered[0], crash);
      assert.deepEqual(readdirSync(spool).filter((f) => f !== ".key" && f !== "fatal"), [], "nothing left in the spool but its key (and the fatal-report folder)");
      return;
    }

    if (server === "hanging") {
      const crashedAt = Number(readFileSync(mark, "utf8"));
      const waited = withLib.exitedAt - crashedAt;
      assert.ok(waited <= exitTimeout.hanging * 1000 + 1000, `exited ${waited} ms after the crash`);
    }
    const left = spoolRecords(spool);
    assert.equal(left.length, 1, "the report waits in the spool");
    const uuid = left[0]!.uuid;
    if (server === "hanging") assert.ok(receiver.requests.some((r) => uuidOf(r) === uuid), "the hung request carried the same report");

    // The next run of an application with the same endpoint and spool sends it.
    hang = false;
    later = server === "down" ? await startReceiver({ port }) : receiver;
    const target = later;
    const before = target.requests.length;
    const next = startNode(["replay.cjs"], { BT_ENDPOINT: endpoint, BT_SPOOL: spool });
    let nextStderr = "";
    next.stderr?.on("data", (chunk: Buffer) => (nextStderr += chunk.toString()));
    try {
      await waitUntil(
        () => target.requests.slice(before).some((r) => uuidOf(r) === uuid) && spoolRecords(spool).length === 0,
        15_000,
        `the next run to send ${uuid} and empty the spool (stderr: ${nextStderr})`,
      );
    } finally {
      next.kill();
    }
    assertReport(target.requests.slice(before).find((r) => uuidOf(r) === uuid), crash);
  } finally {
    await receiver.close().catch(() => undefined);
    if (later && later !== receiver) await later.close();
    rmSync(spool, { recursive: true, force: true });
    rmSync(markDir, { recursive: true, force: true });
  }
}

describe("crash path, mode given on the command line", { concurrency: 6 }, () => {
  for (const crash of crashes) {
    for (const mode of modes) {
      for (const server of servers) {
        test(`${crash}, --unhandled-rejections=${mode}, receiver ${server}: ends as without the library, report ${
          server === "answering" ? "delivered before exit" : "spooled and sent by the next run"
        }`, { timeout: 60_000 }, () => scenario(crash, mode, "flag", server));
      }
    }
  }
});

describe("crash path, mode given in NODE_OPTIONS", { concurrency: 6 }, () => {
  for (const crash of ["rejection-error", "rejection-string"] as const) {
    for (const mode of modes) {
      test(`${crash}, NODE_OPTIONS=--unhandled-rejections=${mode}: ends as without the library, report delivered before exit`, { timeout: 60_000 }, () =>
        scenario(crash, mode, "NODE_OPTIONS", "answering"),
      );
    }
  }
  test("exception, NODE_OPTIONS=--unhandled-rejections=strict, receiver hanging: ends in time, sent by the next run", { timeout: 60_000 }, () =>
    scenario("exception", "strict", "NODE_OPTIONS", "hanging"),
  );
});
