import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BacktraceClient, BacktraceReport, type BacktraceOptions } from "../src/index.js";
import { startReceiver, withReceiver, type Receiver } from "./helpers/http-receiver.js";
import { selfSignedCert } from "./helpers/tls.js";

const thisFile = fileURLToPath(import.meta.url);

function clientFor(receiver: Receiver, options: Partial<BacktraceOptions> = {}): BacktraceClient {
  return new BacktraceClient({
    endpoint: `http://127.0.0.1:${receiver.port}`,
    token: "t0k3n",
    disableGlobalHandler: true,
    spool: false,
    ...options,
  });
}

type Body = {
  uuid: string;
  timestamp: number;
  classifiers: string[];
  attributes: Record<string, unknown>;
  annotations: Record<string, any>;
  threads: Record<string, { stack: Array<{ funcName: string; line?: number; column?: number; library?: string; sourceCode?: string }> }>;
  mainThread: string;
  sourceCode: Record<string, { text: string; startLine: number; path: string; tabWidth: number }>;
};

function only(receiver: Receiver): Body {
  assert.equal(receiver.requests.length, 1);
  const request = receiver.requests[0]!;
  assert.deepEqual(request.validation?.errors, []);
  return request.report as Body;
}


function throwDeep(depth: number): never {
  if (depth === 0) throw new RangeError("deep failure");
  return throwDeep(depth - 1);
}

test("report attributes replace default and client ones: null removes, an object moves to annotations; client objects are read at each report", () =>
  withReceiver(async (receiver) => {
    const settings = { level: 1 };
    const client = clientFor(receiver, { attributes: { tier: "gold", region: "eu", apiToken: "abc123456789", settings } });
    const first = await client.sendReport("one", { attributes: { hostname: null, tier: { name: "gold" } } });
    settings.level = 2;
    const second = await client.sendReport("two");
    assert.equal(first.status, "sent");
    assert.equal(second.status, "sent");
    const [a, b] = receiver.requests.map((r) => r.report as Body);
    assert.ok(a && b);
    assert.equal("hostname" in a.attributes, false, "null removes a default attribute");
    assert.equal(typeof b.attributes["hostname"], "string");
    assert.equal("tier" in a.attributes, false, "an object replaces the scalar of its name");
    assert.deepEqual(a.annotations["tier"], { name: "gold" });
    assert.equal(b.attributes["tier"], "gold");
    assert.equal(a.attributes["region"], "eu");
    assert.equal(a.attributes["apiToken"], "[REDACTED]");
    assert.equal(b.attributes["apiToken"], "[REDACTED]");
    assert.equal(a.annotations["backtrace-ts"].redactedValues, 1, "each report counts the redacted client attribute");
    assert.equal(b.annotations["backtrace-ts"].redactedValues, 1);
    assert.deepEqual([a.annotations["settings"], b.annotations["settings"]], [{ level: 1 }, { level: 2 }]);
  }));

test("sendException sends a schema-valid body with frames, source, attributes and the Exception annotation", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver, { attributes: { tier: "gold" }, contextLineCount: 2 });
    let error: unknown;
    try {
      throwDeep(3);
    } catch (caught) {
      error = caught;
    }
    const outcome = await client.sendException(error, { attributes: { "order.id": 7 }, annotations: { cart: { items: 2 } } });
    assert.equal(outcome.status, "sent");
    const body = only(receiver);
    assert.equal(outcome.uuid, body.uuid);
    assert.ok(outcome.status === "sent" && typeof outcome.rxid === "string" && outcome.rxid.length > 0);
    assert.match(body.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(Math.abs(body.timestamp - Date.now() / 1000) < 60);
    assert.deepEqual(body.classifiers, ["RangeError"]);
    assert.equal(body.attributes["error.type"], "Exception");
    assert.equal(body.attributes["error.message"], "deep failure");
    assert.equal(body.attributes["tier"], "gold");
    assert.equal(body.attributes["order.id"], 7);
    assert.equal(body.attributes["backtrace.agent"], "backtrace-ts");
    assert.equal(body.annotations["cart"].items, 2);
    assert.equal(body.annotations["Exception"].type, "RangeError");
    assert.equal(body.annotations["Exception"].message, "deep failure");
    const stack = body.threads[body.mainThread]!.stack;
    assert.equal(stack[0]!.funcName, "throwDeep");
    assert.equal(stack[0]!.library, thisFile);
    assert.ok(Number.isInteger(stack[0]!.line) && stack[0]!.line! >= 1);
    assert.ok(Number.isInteger(stack[0]!.column) && stack[0]!.column! >= 1);
    const source = body.sourceCode[stack[0]!.sourceCode!]!;
    assert.equal(source.path, thisFile);
    assert.equal(source.tabWidth, 8);
    const lines = source.text.split("\n");
    assert.equal(lines[stack[0]!.line! - source.startLine]!.trim(), 'if (depth === 0) throw new RangeError("deep failure");');
    // contextLineCount 2 around the frames of this file, merged into one excerpt
    const ownLines = stack.filter((frame) => frame.library === thisFile).map((frame) => frame.line!);
    assert.equal(source.startLine, Math.min(...ownLines) - 2);
    assert.equal(source.startLine + lines.length - 1, Math.max(...ownLines) + 2);
    await client.finalize();
  }));

test("sendReport carries the caller's stack without the library's own frames", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    function reportFromHere(): Promise<unknown> {
      return client.sendReport("disk almost full", { attributes: { free: 3 } });
    }
    await reportFromHere();
    const body = only(receiver);
    assert.deepEqual(body.classifiers, ["Message"]);
    assert.equal(body.attributes["error.type"], "Message");
    assert.equal(body.attributes["error.message"], "disk almost full");
    const stack = body.threads[body.mainThread]!.stack;
    assert.equal(stack[0]!.funcName, "reportFromHere");
    assert.equal(stack[0]!.library, thisFile);
    assert.ok(stack.every((frame) => !String(frame.library).includes(join("client", "src"))), "no library frames");
    await client.finalize();
  }));

test("a BacktraceReport carries attributes, annotations, log lines and attachments (multipart)", () =>
  withReceiver(async (receiver) => {
    const dir = mkdtempSync(join(tmpdir(), "bt-attach-"));
    writeFileSync(join(dir, "global.log"), "global attachment");
    writeFileSync(join(dir, "request.txt"), "per-report attachment");
    const client = clientFor(receiver, { attachments: [join(dir, "global.log")] });
    const report = client.createReport();
    report.setAttribute("user", "ann").setDictAttributes({ plan: "pro", seats: 3, flags: { beta: true }, gone: null, nothing: undefined });
    report.setAnnotation("request", { path: "/pay" }).setDictAnnotations({ retries: [1, 2] });
    report.addAttachment(join(dir, "request.txt")).addAttachment(join(dir, "missing.bin"));
    report.setException(new TypeError("bad input"));
    report.log("first step");
    report.log({ step: 2 });
    const { guid, "application.session": session, ...rest } = report.getAttributes();
    assert.equal(typeof guid, "string", "a new report's attributes hold the defaults, as backtracepython's");
    assert.equal(typeof session, "string");
    assert.deepEqual(
      Object.fromEntries(Object.entries(rest).filter(([key]) => ["user", "plan", "seats", "flags", "gone", "nothing"].includes(key))),
      { user: "ann", plan: "pro", seats: 3, flags: { beta: true }, gone: null },
    );
    assert.deepEqual(Object.keys(report.getAnnotations()), ["request", "retries"]);
    assert.deepEqual(report.getAttachments(), [join(dir, "request.txt"), join(dir, "missing.bin")]);
    const outcome = await report.send();
    assert.equal(outcome.status, "sent");
    const body = only(receiver);
    assert.equal(body.attributes["user"], "ann");
    assert.equal(body.attributes["seats"], 3);
    assert.equal("flags" in body.attributes, false);
    assert.deepEqual(body.annotations["flags"], { beta: true });
    assert.equal("gone" in body.attributes || "nothing" in body.attributes, false);
    assert.deepEqual(body.annotations["retries"], [1, 2]);
    assert.deepEqual(body.annotations["Log"].map((line: { msg: unknown }) => line.msg), ["first step", { step: 2 }]);
    assert.ok(body.annotations["Log"].every((line: { ts: number }) => typeof line.ts === "number"));
    const parts = receiver.requests[0]!.parts!;
    assert.deepEqual(parts.map((part) => part.name).sort(), ["attachment_global.log", "attachment_request.txt", "upload_file"]);
    assert.equal(parts.find((part) => part.name === "attachment_request.txt")!.data.toString(), "per-report attachment");
    await client.finalize();
  }));

test("beforeSend can edit a report or drop it", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver, {
      beforeSend: (report) => {
        if (report.getAttributes()["drop"]) return false;
        report.setAttribute("scrubbed", true);
        return report;
      },
    });
    const dropped = await client.sendException(new Error("secret"), { attributes: { drop: true } });
    assert.equal(dropped.status, "dropped");
    await client.sendException(new Error("kept"));
    const body = only(receiver);
    assert.equal(body.attributes["scrubbed"], true);
    assert.equal(client.counters().discarded["before-send"], 1);
    await client.finalize();
  }));

test("collectSourceCode: false sends no source; contextLineCount and tabWidth shape the excerpt", () =>
  withReceiver(async (receiver) => {
    const off = clientFor(receiver, { collectSourceCode: false });
    await off.sendException(new Error("no source"));
    assert.deepEqual(only(receiver).sourceCode, {});
    await off.finalize();
    const narrow = clientFor(receiver, { contextLineCount: 1, tabWidth: 4 });
    await narrow.sendException(new Error("narrow"));
    const body = receiver.requests[1]!.report as Body;
    const frame = body.threads[body.mainThread]!.stack[0]!;
    const entry = body.sourceCode[frame.sourceCode!]!;
    assert.equal(entry.tabWidth, 4);
    const ownLines = body.threads[body.mainThread]!.stack.filter((f) => f.library === thisFile).map((f) => f.line!);
    assert.equal(entry.startLine, Math.min(...ownLines) - 1);
    assert.equal(entry.startLine + entry.text.split("\n").length - 1, Math.max(...ownLines) + 1);
    assert.ok(ownLines.includes(frame.line!));
    await narrow.finalize();
  }));

test("timeout is a deadline: a server that never answers gives a failed outcome", async () => {
  const receiver = await startReceiver({ script: () => ({ hang: true }) });
  try {
    const client = clientFor(receiver, { timeout: 0.3 });
    const outcome = await client.sendException(new Error("slow server"));
    assert.equal(outcome.status, "failed");
    assert.match(outcome.status === "failed" ? `${outcome.reason} ${outcome.detail ?? ""}` : "", /time/i);
    await client.finalize();
  } finally {
    await receiver.close();
  }
});

test("two clients in one process send to their own endpoints", async () => {
  const a = await startReceiver();
  const b = await startReceiver();
  try {
    const clientA = clientFor(a, { attributes: { who: "a" } });
    const clientB = clientFor(b, { attributes: { who: "b" } });
    await Promise.all([clientA.sendReport("to a"), clientB.sendReport("to b")]);
    assert.equal(only(a).attributes["who"], "a");
    assert.equal(only(b).attributes["who"], "b");
    await Promise.all([clientA.finalize(), clientB.finalize()]);
  } finally {
    await a.close();
    await b.close();
  }
});

test("a report made outside any client resolves as dropped and never throws", async () => {
  const outcome = await new BacktraceReport().send();
  assert.equal(outcome.status, "dropped");
});

test("no environment variable is sent", () =>
  withReceiver(async (receiver) => {
    const canary = `env-canary-${Math.random().toString(36).slice(2)}`;
    process.env["BT_TEST_CANARY"] = canary;
    const client = clientFor(receiver);
    await client.sendException(new Error("with env"));
    assert.equal(receiver.requests[0]!.body.toString().includes(canary), false);
    await client.finalize();
  }));

test("capture never throws into the application, whatever it is given", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const hostile = new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); } });
    const outcomes = await Promise.all([
      client.sendException(hostile),
      client.sendException(undefined),
      client.sendException("plain string", { attributes: hostile as Record<string, unknown> }),
      client.sendReport(hostile as unknown as string),
    ]);
    for (const outcome of outcomes) assert.ok(["sent", "dropped"].includes(outcome.status));
    for (const request of receiver.requests) assert.deepEqual(request.validation?.errors, []);
    await client.finalize();
  }));

test("TLS: a self-signed server is refused by default and accepted with ignoreSslCertificate", async () => {
  const receiver = await startReceiver({ tls: selfSignedCert() });
  try {
    const endpoint = `https://127.0.0.1:${receiver.port}`;
    const strict = new BacktraceClient({ endpoint, token: "t", disableGlobalHandler: true, spool: false, timeout: 2 });
    const refused = await strict.sendException(new Error("over tls"));
    assert.equal(refused.status, "failed");
    assert.match(refused.status === "failed" ? `${refused.reason} ${refused.detail ?? ""}` : "", /certificate|self.signed/i);
    assert.equal(receiver.requests.length, 0);
    await strict.finalize();
    const relaxed = new BacktraceClient({ endpoint, token: "t", disableGlobalHandler: true, spool: false, ignoreSslCertificate: true });
    assert.equal((await relaxed.sendException(new Error("over tls"))).status, "sent");
    assert.equal(receiver.requests.length, 1);
    await relaxed.finalize();
  } finally {
    await receiver.close();
  }
});

test("debugBacktrace raises errors from collecting a report; without it they are counted and the report dropped", () =>
  withReceiver(async (receiver) => {
    const failing = { beforeSend: () => { throw new Error("scrubber broke"); } };
    const quiet = clientFor(receiver, failing);
    const outcome = await quiet.sendException(new Error("x"));
    assert.equal(outcome.status, "dropped");
    assert.equal(quiet.counters().discarded["build-failed"], 1);
    await quiet.finalize();
    const loud = clientFor(receiver, { ...failing, debugBacktrace: true });
    await assert.rejects(loud.sendException(new Error("x")), (error: unknown) => {
      assert.equal((error as { code?: string }).code, "BT_COLLECTION_FAILED");
      assert.match(String((error as Error).cause), /scrubber broke/);
      return true;
    });
    assert.equal(receiver.requests.length, 0);
    await loud.finalize();
  }));

test("report methods and send options never throw, whatever they are given, and what they skip is counted", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwing = { get boom() { throw new Error("getter"); }, fine: 1 };
    const badKey = { toString() { throw new Error("toString"); } };
    const report = client.createReport();
    assert.doesNotThrow(() => {
      report.setDictAttributes(revoked.proxy);
      report.setDictAnnotations(throwing);
      report.setAttribute(badKey as unknown as string, 1);
      report.addAttachment(42 as unknown as string);
    });
    assert.equal((await report.send()).status, "sent");
    const body = receiver.requests[0]!.report as Body;
    assert.equal(body.annotations["fine"], 1);
    assert.equal(body.annotations["backtrace-ts"].skippedInputs, 4);

    const outcome = await client.sendException(new Error("still reported"), revoked.proxy as never);
    assert.equal(outcome.status, "sent");
    assert.match(outcome.uuid, /^[0-9a-f-]{36}$/);
    const message = await client.sendReport({ toString() { throw new Error("no"); } } as unknown as string);
    assert.equal(message.status, "sent");
    assert.equal((receiver.requests[2]!.report as Body).attributes["error.message"], "[unprintable message]");
    await client.finalize();
  }));

test("the client never shows its token when printed or serialized", async () => {
  const { inspect } = await import("node:util");
  const client = new BacktraceClient({ endpoint: "https://host:6098", token: "secret-token-xyz", disableGlobalHandler: true, spool: false });
  assert.doesNotMatch(inspect(client), /secret-token-xyz/);
  assert.doesNotMatch(JSON.stringify(client), /secret-token-xyz/);
  assert.doesNotMatch(JSON.stringify({ nested: client }), /secret-token-xyz/);
  await client.finalize();
});

test("reports from one place, one after the other, each arrive with their own message, attributes, annotations, scope and breadcrumbs", async () => {
  await withReceiver(async (receiver) => {
    const client = clientFor(receiver, { aggregateDuplicates: false, attributes: { "app.tier": "web" } });
    const place = (n: number): Error => new Error(`order ${n} failed`);
    const sent: Array<Promise<unknown>> = [];
    for (let n = 1; n <= 3; n++) {
      client.withScope((scope) => {
        scope.setAttribute("scope.n", n);
        if (n !== 2) scope.setAttribute("app.tier", `tier ${n}`); // replaces a client attribute in one report only
        scope.addBreadcrumb(`crumb of ${n}`);
        sent.push(client.sendException(place(n), { attributes: { [`own.${n}`]: true }, annotations: { note: { n } } }));
      });
    }
    await Promise.all(sent);
    await client.finalize();
    assert.equal(receiver.requests.length, 3);
    for (const request of receiver.requests) assert.deepEqual(request.validation?.errors, []);
    const byN = new Map(receiver.requests.map((r) => [(r.report as Body).attributes["scope.n"], r]));
    for (let n = 1; n <= 3; n++) {
      const request = byN.get(n)!;
      const body = request.report as Body;
      assert.equal(body.attributes["error.message"], `order ${n} failed`);
      assert.equal(body.annotations["Exception"].message, `order ${n} failed`);
      assert.equal(body.attributes["app.tier"], n === 2 ? "web" : `tier ${n}`);
      for (let m = 1; m <= 3; m++) assert.equal(body.attributes[`own.${m}`], m === n ? true : undefined);
      assert.deepEqual(body.annotations["note"], { n });
      const crumbs = request.parts?.find((p) => p.name === "attachment_bt-breadcrumbs-0")?.data.toString("utf8") ?? "";
      for (let m = 1; m <= 3; m++) assert.equal(crumbs.includes(`crumb of ${m}`), m === n, `report ${n}, crumb of ${m}`);
    }
    const stacks = receiver.requests.map((r) => JSON.stringify((r.report as Body).threads));
    assert.equal(new Set(stacks).size, 1, "the same place: the same stack");
  });
});
