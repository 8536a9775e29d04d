// Client attributes after initialize, backtracepython's report semantics, and in-memory attachments, against a real receiver.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bt from "../src/index.js";
import { BacktraceClient, BacktraceReport, type BacktraceOptions } from "../src/index.js";
import { startReceiver, type Receiver } from "./helpers/http-receiver.js";
import { parseRecord, recordText } from "../src/spool/spool-files.js";
import { jsonBody } from "../src/payload.js";

interface Body {
  attributes: Record<string, unknown>;
  annotations: Record<string, Record<string, unknown>>;
  threads: Record<string, { stack: Array<{ funcName: string; sourceCode?: string }> }>;
  mainThread: string;
  sourceCode: Record<string, { text: string; startLine: number }>;
}

function clientFor(receiver: Receiver, options: Partial<BacktraceOptions> = {}): BacktraceClient {
  return new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, breadcrumbs: false, ...options });
}

const body = (receiver: Receiver, index: number): Body => receiver.requests[index]!.report as Body;
const part = (receiver: Receiver, index: number, name: string): string | undefined =>
  receiver.requests[index]!.parts?.find((p) => p.name === `attachment_${name}`)?.data.toString();

test("client attributes and annotations set after initialize reach later reports; removed ones are gone", async () => {
  const receiver = await startReceiver();
  const client = clientFor(receiver, { attributes: { app: "shop", region: "eu" } });
  try {
    client.setAttribute("build", 7).setAttributes({ feature: "on", nested: { a: 1 } }).removeAttribute("region").setAnnotation("config", { retries: 3 });
    client.setUser({ id: "u1", email: "ann@example.com", name: "Ann" });
    assert.deepEqual(client.getAttributes(), { app: "shop", build: 7, feature: "on", nested: { a: 1 }, "user.id": "u1", "user.email": "ann@example.com", "user.name": "Ann" });
    await client.sendReport("after");
    client.setUser(null);
    await client.sendReport("user cleared");
    await client.flush();
    const first = body(receiver, 0);
    assert.deepEqual([first.attributes["app"], first.attributes["build"], first.attributes["feature"], "region" in first.attributes], ["shop", 7, "on", false]);
    assert.deepEqual(first.annotations["nested"], { a: 1 });
    assert.deepEqual(first.annotations["config"], { retries: 3 });
    assert.equal(first.attributes["user.email"], "ann@example.com");
    assert.equal("user.id" in body(receiver, 1).attributes, false);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("the module-level calls work through the default client", async () => {
  const receiver = await startReceiver();
  bt.initialize({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, breadcrumbs: false });
  try {
    bt.setAttribute("one", 1);
    bt.setAttributes({ two: 2, three: 3 });
    bt.removeAttribute("three");
    bt.setAnnotation("note", "kept");
    bt.setUser({ id: 9 });
    bt.addAttachment("inline.txt", "inline text");
    bt.addBreadcrumb("module crumb");
    assert.deepEqual(bt.getAttributes(), { one: 1, two: 2, "user.id": 9 });
    await bt.sendReport("module");
    await bt.flush();
    const sent = body(receiver, 0);
    assert.deepEqual([sent.attributes["one"], sent.attributes["two"], "three" in sent.attributes, sent.attributes["user.id"]], [1, 2, false, 9]);
    assert.equal(sent.annotations["note"] as unknown, "kept");
    assert.equal(part(receiver, 0, "inline.txt"), "inline text");
    assert.match(part(receiver, 0, "bt-breadcrumbs-0") ?? "", /module crumb/);
  } finally {
    await bt.finalize();
    await receiver.close();
  }
});

test("a report carries the stack of where it was made, not of where it was sent", async () => {
  const receiver = await startReceiver();
  const client = clientFor(receiver);
  bt.initialize({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, breadcrumbs: false });
  try {
    function madeWithCreateReport(): BacktraceReport {
      return client.createReport();
    }
    function madeWithNew(): BacktraceReport {
      return new BacktraceReport();
    }
    const reports = [madeWithCreateReport(), madeWithNew()];
    async function sentElsewhere(report: BacktraceReport): Promise<void> {
      await report.send();
    }
    for (const report of reports) await sentElsewhere(report);
    await client.flush();
    await bt.flush();
    const tops = [0, 1].map((i) => body(receiver, i)).map((b) => b.threads[b.mainThread]!.stack[0]!.funcName);
    assert.deepEqual(tops, ["madeWithCreateReport", "madeWithNew"]);
  } finally {
    await bt.finalize();
    await client.finalize();
    await receiver.close();
  }
});

test("a new report's getAttributes() holds the default and client attributes", async () => {
  const receiver = await startReceiver();
  const client = clientFor(receiver, { attributes: { app: "shop" } });
  try {
    client.setAttribute("later", true);
    const attributes = client.createReport().setAttribute("own", 1).getAttributes();
    for (const key of ["guid", "application.session", "hostname", "app", "later", "own"]) assert.ok(key in attributes, key);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("attachments of the same file name: the report's own wins over the client's", async () => {
  const receiver = await startReceiver();
  const root = mkdtempSync(join(tmpdir(), "bt-same-name-"));
  mkdirSync(join(root, "client"));
  mkdirSync(join(root, "report"));
  writeFileSync(join(root, "client", "log.txt"), "client's");
  writeFileSync(join(root, "report", "log.txt"), "report's");
  const client = clientFor(receiver, { attachments: [join(root, "client", "log.txt")] });
  try {
    client.addAttachment("extra.txt", "client extra");
    await client.createReport().addAttachment(join(root, "report", "log.txt")).addAttachment("extra.txt", "report extra").send();
    await client.sendReport("client's only");
    await client.flush();
    assert.deepEqual([part(receiver, 0, "log.txt"), part(receiver, 0, "extra.txt")], ["report's", "report extra"]);
    assert.deepEqual([part(receiver, 1, "log.txt"), part(receiver, 1, "extra.txt")], ["client's", "client extra"]);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("source text keeps the file's trailing newline", async () => {
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), "bt-newline-"));
  const file = join(dir, "thrower.cjs");
  const text = '"use strict";\nexports.fail = function fail() {\n  throw new Error("from a small file");\n};\n';
  writeFileSync(file, text);
  const client = clientFor(receiver);
  try {
    const { fail } = createRequire(import.meta.url)(file) as { fail: () => void };
    try {
      fail();
    } catch (error) {
      await client.sendException(error);
    }
    await client.flush();
    assert.equal(body(receiver, 0).sourceCode[file]?.text, text);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("in-memory attachments (Buffer, Uint8Array, string) are sent, copied when added, and cut past maxAttachmentBytes with a count", async () => {
  const receiver = await startReceiver();
  const client = clientFor(receiver, { maxAttachmentBytes: 10 });
  try {
    const buffer = Buffer.from("buf");
    const report = client.createReport().addAttachment("a.bin", buffer).addAttachment("b.bin", new Uint8Array([104, 105])).addAttachment("c.txt", "12345678");
    buffer.write("XXX");
    await report.send();
    await client.flush();
    assert.deepEqual([part(receiver, 0, "a.bin"), part(receiver, 0, "b.bin"), part(receiver, 0, "c.txt")], ["buf", "hi", undefined]);
    assert.deepEqual([body(receiver, 0).annotations["backtrace-ts"]?.["droppedAttachments"], body(receiver, 0).annotations["backtrace-ts"]?.["droppedAttachmentBytes"]], [1, 8]);
    assert.equal(receiver.requests[0]!.validation?.valid, true);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("a spool record keeps in-memory attachments (base64) next to file paths", () => {
  const payload = { uuid: "u-1", json: jsonBody("{}"), attachments: [{ name: "f.log", path: "/tmp/f.log" }, { name: "m.bin", data: Buffer.from([0, 255, 10]) }] };
  const back = parseRecord(recordText(payload));
  assert.deepEqual(back?.attachments, payload.attachments);
  assert.equal(parseRecord(JSON.stringify({ v: 1, uuid: "u", json: "{}", attachments: [{ name: "x" }] })), undefined);
});
