import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { Cancellation } from "../../src/transport/cancellation.js";
import { createPool, postReport } from "../../src/transport/post.js";
import type { Payload } from "../../src/payload.js";
import { jsonBody, jsonText } from "../../src/payload.js";
import { reportJson, startReceiver } from "../helpers/http-receiver.js";
import { selfSignedCert } from "../helpers/tls.js";

const options = { timeoutMs: 5000, ignoreSslCertificate: false };

function payload(attachments: Payload["attachments"] = []): Payload {
  const uuid = randomUUID();
  return { uuid, json: jsonBody(reportJson(uuid)), attachments };
}

test("sends a report without attachments as JSON with a Content-Length and returns the _rxid", async (t) => {
  const receiver = await startReceiver({ script: () => ({ body: '{"response":"ok","_rxid":"rx-1"}' }) });
  t.after(() => receiver.close());
  const sent = payload();
  const result = await postReport(receiver.url, sent, options);
  assert.deepEqual(result, { kind: "response", status: 200, rxid: "rx-1", body: '{"response":"ok","_rxid":"rx-1"}' });
  const [request] = receiver.requests;
  assert.ok(request);
  assert.equal(request.method, "POST");
  assert.equal(request.url, "/post?format=json&token=t0k3n");
  assert.equal(request.headers["content-type"], "application/json");
  assert.equal(request.headers["content-length"], String(Buffer.byteLength(jsonText(sent.json))));
  assert.equal(request.body.toString(), jsonText(sent.json));
  assert.deepEqual(request.validation?.errors, []);
});

test("writes a body made of strings and shared bytes as one body, with its UTF-8 length", async (t) => {
  const receiver = await startReceiver({ script: () => ({ body: '{"response":"ok","_rxid":"rx-2"}' }) });
  t.after(() => receiver.close());
  const dir = mkdtempSync(join(tmpdir(), "bt-transport-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "a.log"), "line one\n");
  const uuid = randomUUID();
  const whole = reportJson(uuid, { annotations: { note: "prix 10 € — 9 £ ✓" } });
  // Cut the text next to multi-byte characters, as bytes and as strings.
  const at = [10, whole.indexOf("€"), whole.indexOf("✓") + 1];
  const parts = [whole.slice(0, at[0]), whole.slice(at[0], at[1]), whole.slice(at[1], at[2]), whole.slice(at[2])];
  const json = { pieces: [parts[0]!, Buffer.from(parts[1]!), parts[2]!, Buffer.from(parts[3]!)], bytes: Buffer.byteLength(whole) };
  for (const attachments of [[], [{ name: "a.log", path: join(dir, "a.log") }]]) {
    const result = await postReport(receiver.url, { uuid, json, attachments }, options);
    assert.equal(result.kind === "response" && result.rxid, "rx-2");
  }
  const [plain, multipart] = receiver.requests;
  assert.ok(plain && multipart);
  assert.equal(plain.headers["content-length"], String(Buffer.byteLength(whole)));
  assert.equal(plain.body.toString("utf8"), whole);
  assert.deepEqual(plain.validation?.errors, []);
  assert.equal(multipart.headers["content-length"], String(multipart.body.length));
  assert.equal(multipart.parts?.[0]?.data.toString("utf8"), whole);
});

test("a user and password in the endpoint URL go as Basic credentials; a bad URL is an error result", async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const url = receiver.url.replace("http://", "http://us%20er:p%40ss@");
  const result = await postReport(url, payload(), options);
  assert.equal(result.kind === "response" && result.status, 200);
  assert.equal(receiver.requests[0]?.headers["authorization"], `Basic ${Buffer.from("us er:p@ss").toString("base64")}`);
  const plain = await postReport(receiver.url, payload(), options);
  assert.equal(plain.kind === "response" && plain.status, 200);
  assert.equal(receiver.requests[1]?.headers["authorization"], undefined);
  assert.deepEqual(await postReport("not a url", payload(), options), { kind: "error", reason: "invalid submission URL", timeout: false });
});

test("reads the rxid from answers of any JSON shape, escapes included; a non-JSON 200 is accepted without one", async (t) => {
  const bodies = ['{"_rxid":"rx-\\"q\\"","response":"ok"}', '{ "response": "ok", "_rxid": "rx-3" }', "accepted"];
  const receiver = await startReceiver({ script: (i) => ({ body: bodies[i] ?? "" }) });
  t.after(() => receiver.close());
  const rxids: unknown[] = [];
  for (let i = 0; i < bodies.length; i++) {
    const result = await postReport(receiver.url, payload(), options);
    assert.equal(result.kind === "response" && result.status, 200);
    rxids.push(result.kind === "response" ? result.rxid : "error");
  }
  assert.deepEqual(rxids, ['rx-"q"', "rx-3", undefined]);
});

test("sends attachments as multipart: upload_file then one attachment_<basename> per file, streamed from disk", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bt-transport-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const big = Buffer.alloc(300_000, 7);
  writeFileSync(join(dir, "app.log"), "line one\nline two\n");
  writeFileSync(join(dir, "dump.bin"), big);
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const sent = payload([
    { name: "app.log", path: join(dir, "app.log") },
    { name: "dump.bin", path: join(dir, "dump.bin") },
  ]);
  const result = await postReport(receiver.url, sent, options);
  assert.equal(result.kind, "response");
  assert.equal(result.kind === "response" && result.status, 200);
  assert.equal(result.skipped, undefined);
  const [request] = receiver.requests;
  assert.ok(request?.parts);
  assert.match(request.headers["content-type"] ?? "", /^multipart\/form-data; boundary=/);
  assert.equal(request.headers["content-length"], String(request.body.length));
  assert.deepEqual(
    request.parts.map((p) => [p.name, p.filename, p.contentType]),
    [
      ["upload_file", "upload_file.json", "application/json"],
      ["attachment_app.log", "app.log", "application/octet-stream"],
      ["attachment_dump.bin", "dump.bin", "application/octet-stream"],
    ],
  );
  assert.equal(request.parts[0]?.data.toString(), jsonText(sent.json));
  assert.equal(request.parts[1]?.data.toString(), "line one\nline two\n");
  assert.ok(request.parts[2]?.data.equals(big));
  assert.deepEqual(request.validation?.errors, []);
});

test("skips a missing attachment and a duplicate basename, and says so in the result", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bt-transport-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "a.txt"), "A");
  writeFileSync(join(dir, "b.txt"), "B");
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const result = await postReport(
    receiver.url,
    payload([
      { name: "gone.txt", path: join(dir, "gone.txt") },
      { name: "a.txt", path: join(dir, "a.txt") },
      { name: "a.txt", path: join(dir, "b.txt") },
    ]),
    options,
  );
  assert.equal(result.kind, "response");
  assert.deepEqual(
    result.skipped?.map((s) => s.name),
    ["gone.txt", "a.txt"],
  );
  assert.match(result.skipped?.[0]?.reason ?? "", /ENOENT/);
  assert.deepEqual(
    receiver.requests[0]?.parts?.map((p) => [p.name, p.data.toString().slice(0, 1)]),
    [
      ["upload_file", "{"],
      ["attachment_a.txt", "A"],
    ],
  );
});

test("attachments in memory go as multipart with the body known up front; with a file among them, the file is streamed", async (t) => {
  const inMemory = [
    { name: "bt-breadcrumbs-0", data: Buffer.from('[{"id":1,"message":"started"}]') },
    { name: "notes.txt", data: Buffer.from("a note ✓") },
  ];
  const dir = mkdtempSync(join(tmpdir(), "bt-transport-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "app.log"), "from the file\n");
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const mixed = [...inMemory, { name: "notes.txt", data: Buffer.from("a second of the name") }, { name: "app.log", path: join(dir, "app.log") }];
  const sent = [payload(inMemory), payload(inMemory), payload(mixed)];
  const results = [];
  for (const one of sent) results.push(await postReport(receiver.url, one, options));
  assert.deepEqual(
    results.map((result) => result.skipped?.map((s) => [s.name, s.reason])),
    [undefined, undefined, [["notes.txt", "duplicate name"]]],
  );
  const boundaries = receiver.requests.map((request) => /boundary=(\S+)/.exec(request.headers["content-type"] ?? "")?.[1]);
  assert.equal(new Set(boundaries).size, 3, "each request has a boundary of its own");
  for (const [i, request] of receiver.requests.entries()) {
    assert.equal(request.headers["content-length"], String(request.body.length));
    assert.equal(request.parts?.[0]?.data.toString(), jsonText(sent[i]!.json));
    assert.deepEqual(request.validation?.errors, []);
  }
  assert.deepEqual(
    receiver.requests[2]?.parts?.map((part) => [part.name, part.data.toString()]).slice(1),
    [
      ["attachment_bt-breadcrumbs-0", '[{"id":1,"message":"started"}]'],
      ["attachment_notes.txt", "a note ✓"],
      ["attachment_app.log", "from the file\n"],
    ],
  );
});

test("sends JSON when every attachment is missing", async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const result = await postReport(receiver.url, payload([{ name: "x", path: "/nonexistent/x" }]), options);
  assert.equal(result.kind === "response" && result.status, 200);
  assert.equal(receiver.requests[0]?.headers["content-type"], "application/json");
});

test("the deadline holds against a server that accepts and never answers", async (t) => {
  const receiver = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => receiver.close());
  const result = await postReport(receiver.url, payload(), { ...options, timeoutMs: 300 });
  assert.equal(result.kind, "error");
  assert.equal(result.kind === "error" && result.timeout, true);
  assert.equal(receiver.requests.length, 1);
});

test("reports a refused connection as a non-timeout error", async () => {
  const receiver = await startReceiver();
  await receiver.close();
  const result = await postReport(receiver.url, payload(), options);
  assert.equal(result.kind, "error");
  assert.equal(result.kind === "error" && result.timeout, false);
  assert.match(result.kind === "error" ? result.reason : "", /ECONNREFUSED/);
});

test("reports a connection reset in the middle of the body as an error", async (t) => {
  const receiver = await startReceiver({ script: () => ({ destroyMidBody: true }) });
  t.after(() => receiver.close());
  const uuid = randomUUID();
  const big = { uuid, json: jsonBody(reportJson(uuid, { annotations: { blob: "x".repeat(4_000_000) } })), attachments: [] };
  const result = await postReport(receiver.url, big, options);
  assert.equal(result.kind, "error");
  assert.equal(result.kind === "error" && result.timeout, false);
});

test("returns status, Retry-After and a capped body for a non-200 answer", async (t) => {
  const receiver = await startReceiver({
    script: () => ({ status: 429, headers: { "Retry-After": "2" }, body: "y".repeat(200_000) }),
  });
  t.after(() => receiver.close());
  const result = await postReport(receiver.url, payload(), options);
  assert.equal(result.kind, "response");
  if (result.kind !== "response") return;
  assert.equal(result.status, 429);
  assert.equal(result.retryAfter, "2");
  assert.equal(result.rxid, undefined);
  assert.equal(result.body.length, 64 * 1024);
});

test("a cancellation ends the request", async (t) => {
  const receiver = await startReceiver({ script: () => ({ hang: true }) });
  t.after(() => receiver.close());
  const cancel = new Cancellation();
  const pending = postReport(receiver.url, payload(), { ...options, cancel });
  await receiver.waitFor(1);
  cancel.cancelAll();
  assert.deepEqual(await pending, { kind: "error", reason: "aborted", timeout: false });
});

test("a keep-alive pool reuses one connection for sequential reports", async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const pool = createPool(receiver.url, { maxSockets: 2, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  for (let i = 0; i < 5; i++) {
    const result = await postReport(receiver.url, payload(), { ...options, pool });
    assert.equal(result.kind === "response" && result.status, 200);
  }
  assert.equal(receiver.connections(), 1);
});


test("TLS: a self-signed certificate is refused by default and accepted with ignoreSslCertificate", async (t) => {
  const tls = selfSignedCert();
  const receiver = await startReceiver({ tls });
  t.after(() => receiver.close());
  const refused = await postReport(receiver.url, payload(), options);
  assert.equal(refused.kind, "error");
  assert.match(refused.kind === "error" ? refused.reason : "", /self.signed|certificate/i);
  assert.equal(receiver.requests.length, 0);

  const accepted = await postReport(receiver.url, payload(), { ...options, ignoreSslCertificate: true });
  assert.equal(accepted.kind === "response" && accepted.status, 200);

  const pool = createPool(receiver.url, { maxSockets: 1, ignoreSslCertificate: true });
  t.after(() => pool.destroy());
  const viaPool = await postReport(receiver.url, payload(), { ...options, ignoreSslCertificate: true, pool });
  assert.equal(viaPool.kind === "response" && viaPool.status, 200);
  assert.equal(receiver.requests.length, 2);
});
