// Reports through a real forward proxy (tinyproxy): http endpoints in absolute form, https ones through a
// CONNECT tunnel, the environment's rules, proxy credentials, a 407 and a proxy that is down.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { createPool, postReport, type PostOptions } from "../../src/transport/post.js";
import { proxyFor } from "../../src/transport/proxy.js";
import { createDelivery } from "../../src/deliver/delivery.js";
import { createSpool } from "../../src/spool/spool.js";
import { jsonBody, type Payload } from "../../src/payload.js";
import { reportJson, startReceiver, type Receiver } from "../helpers/http-receiver.js";
import { privateCa } from "../helpers/tls.js";
import { freePort, startTinyproxy } from "../helpers/tinyproxy.js";

const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];

/** Sets the proxy variables for one test (the others cleared) and puts the environment back after it. */
function proxyEnv(t: TestContext, values: Record<string, string>): void {
  const saved = new Map(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
  t.after(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}

function payload(attachments: Payload["attachments"] = []): Payload {
  const uuid = randomUUID();
  return { uuid, json: jsonBody(reportJson(uuid)), attachments };
}

function attachment(t: TestContext): Payload["attachments"] {
  const dir = mkdtempSync(join(tmpdir(), "bt-proxy-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "app.log"), "through the proxy\n");
  return [{ name: "app.log", path: join(dir, "app.log") }];
}

async function httpsReceiver(t: TestContext): Promise<Receiver> {
  const { key, cert } = privateCa();
  const receiver = await startReceiver({ tls: { key, cert } });
  t.after(() => receiver.close());
  return receiver;
}

const base = { timeoutMs: 8000, ignoreSslCertificate: false };

test("the environment's proxy rules: lower case first, NO_PROXY names, suffixes, ports, IP literals and *", (t) => {
  const route = (url: string): string | undefined => {
    const found = proxyFor(url, undefined);
    return found instanceof Error ? `error: ${found.message}` : found?.label;
  };
  proxyEnv(t, { HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2", HTTP_PROXY: "http://plain:3" });
  assert.equal(route("https://submit.example.com/x"), "lower:2");
  assert.equal(route("http://submit.example.com/x"), "plain:3");
  process.env["NO_PROXY"] = "internal.example, .corp.example, 127.0.0.1:6098, [::1]";
  assert.equal(route("https://internal.example/x"), undefined);
  assert.equal(route("https://a.b.corp.example/x"), undefined);
  assert.equal(route("https://corp-example.org/x"), "lower:2");
  assert.equal(route("https://127.0.0.1:6098/x"), undefined);
  assert.equal(route("https://127.0.0.1:6099/x"), "lower:2");
  assert.equal(route("https://[::1]:443/x"), undefined);
  process.env["no_proxy"] = "*"; // lower case wins here too
  assert.equal(route("https://anything.example/x"), undefined);
});

test("the proxy option wins over the environment; false ignores it; a bad proxy URL fails requests without printing it", async (t) => {
  proxyEnv(t, { HTTPS_PROXY: "http://env-proxy:1", NO_PROXY: "*" });
  const chosen = proxyFor("https://submit.example/x", "http://user:secret@option-proxy:3128");
  assert.ok(chosen && !(chosen instanceof Error));
  assert.equal(chosen.label, "option-proxy:3128");
  assert.equal(chosen.authorization, `Proxy-Authorization: Basic ${Buffer.from("user:secret").toString("base64")}\r\n`);
  delete process.env["NO_PROXY"];
  assert.equal(proxyFor("https://submit.example/x", false), undefined);
  process.env["HTTPS_PROXY"] = "http://user:secret@[bad";
  const broken = proxyFor("https://submit.example/x", undefined);
  assert.ok(broken instanceof Error);
  const result = await postReport("https://127.0.0.1:1/post", payload(), base);
  assert.equal(result.kind, "error");
  assert.doesNotMatch(JSON.stringify(result), /secret/);
});

test("an http endpoint through the proxy: JSON and multipart in absolute form, with the proxy's credentials", async (t) => {
  const proxy = await startTinyproxy(t, { basicAuth: { user: "bt", pass: "s3cret" } });
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const options: PostOptions = { ...base, proxy: `http://bt:s3cret@127.0.0.1:${proxy.port}` };
  const pool = createPool(receiver.url, { ...options, maxSockets: 2 });
  t.after(() => pool.destroy());
  for (const sent of [payload(), payload(attachment(t))]) {
    const result = await postReport(receiver.url, sent, { ...options, pool });
    assert.equal(result.kind === "response" && result.status, 200, JSON.stringify(result));
  }
  assert.equal(receiver.requests.length, 2);
  for (const request of receiver.requests) {
    assert.match(request.headers["via"] ?? "", /tinyproxy/, "it came through the proxy");
    assert.equal(request.headers["proxy-authorization"], undefined, "the proxy keeps its credentials to itself");
    assert.deepEqual(request.validation?.errors, []);
  }
  assert.equal(receiver.requests[1]?.parts?.[1]?.data.toString(), "through the proxy\n");
});

test("an https endpoint from HTTPS_PROXY: a CONNECT tunnel, TLS verified inside it against the endpoint's name and the private CA", async (t) => {
  const proxy = await startTinyproxy(t);
  const receiver = await httpsReceiver(t);
  proxyEnv(t, { HTTPS_PROXY: proxy.url });
  const url = receiver.url.replace("127.0.0.1", "localhost");
  for (const sent of [payload(), payload(attachment(t))]) {
    const result = await postReport(url, sent, { ...base, ca: privateCa().caCert });
    assert.equal(result.kind === "response" && result.status, 200, JSON.stringify(result));
  }
  assert.equal(receiver.requests.length, 2);
  assert.deepEqual(receiver.requests.map((r) => r.validation?.errors), [[], []]);
  assert.match(proxy.log(), new RegExp(`CONNECT localhost:${receiver.port}`), "the tunnel went through the proxy");
  // Without the CA, the endpoint's certificate is refused inside the tunnel as it would be without a proxy.
  const refused = await postReport(url, payload(), base);
  assert.equal(refused.kind, "error");
  assert.match(refused.kind === "error" ? refused.reason : "", /certificate/i);
  assert.equal(receiver.requests.length, 2);
});

test("NO_PROXY sends matching endpoints directly; proxy: false ignores the environment", async (t) => {
  const dead = await freePort();
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  proxyEnv(t, { HTTP_PROXY: `http://127.0.0.1:${dead}`, NO_PROXY: "localhost,127.0.0.1" });
  const direct = await postReport(receiver.url, payload(), base);
  assert.equal(direct.kind === "response" && direct.status, 200);
  process.env["NO_PROXY"] = "other.example";
  const viaDeadProxy = await postReport(receiver.url, payload(), base);
  assert.equal(viaDeadProxy.kind, "error", "the proxy from the environment was used");
  const ignored = await postReport(receiver.url, payload(), { ...base, proxy: false });
  assert.equal(ignored.kind === "response" && ignored.status, 200);
  assert.equal(receiver.requests.length, 2);
});

test("a proxy answering 407 stops delivery with reason proxy-auth, keeps the report spooled, says so in debug and prints no credentials", async (t) => {
  const proxy = await startTinyproxy(t, { basicAuth: { user: "bt", pass: "right" } });
  const https = await httpsReceiver(t);
  const wrong = `http://bt:wr0ng-pass@127.0.0.1:${proxy.port}`;
  // The refusal of CONNECT. Without credentials tinyproxy answers 407; to wrong ones it answers 401, which only
  // CONNECT can tell apart from the server's own. (A forwarded http request is refused with a 407 answer too, but
  // tinyproxy closes on the unread request body, so that the reset can beat its answer: not tested here.)
  for (const [url, proxyUrl] of [[https.url, proxy.url], [https.url, wrong]] as const) {
    const result = await postReport(url, payload(), { ...base, proxy: proxyUrl, ca: privateCa().caCert });
    assert.equal(result.kind === "response" && result.status, 407, `${url} ${JSON.stringify(result)}`);
  }
  const right = await postReport(https.url, payload(), { ...base, proxy: wrong.replace("wr0ng-pass", "right"), ca: privateCa().caCert });
  assert.equal(right.kind === "response" && right.status, 200);
  https.requests.length = 0;
  const dir = mkdtempSync(join(tmpdir(), "bt-proxy-spool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const messages: string[] = [];
  const spool = createSpool({ dir });
  const delivery = createDelivery({ url: https.url, ...base, proxy: wrong, ca: privateCa().caCert, spool, debug: (m) => messages.push(m) });
  t.after(() => delivery.close());
  const first = await delivery.submit(payload());
  const later = await delivery.submit(payload());
  assert.equal(first.status === "failed" && first.reason, "proxy-auth");
  assert.equal(first.status === "failed" && first.spooled, true);
  assert.equal(first.status === "failed" && first.httpStatus, 407);
  assert.equal(later.status === "failed" && later.reason, "proxy-auth");
  assert.equal(delivery.counters().spooled, 2);
  assert.equal(delivery.counters().retried, 0, "a 407 is final: no retry");
  assert.ok(messages.some((m) => /proxy answered 407/.test(m)), messages.join("\n"));
  assert.doesNotMatch(JSON.stringify([first, later, messages]), /wr0ng-pass|d3IwbmctcGFzcw/);
  assert.equal(https.requests.length, 0);
});

test("with the proxy down reports are spooled; once it is back they are delivered", async (t) => {
  const port = await freePort();
  const receiver = await httpsReceiver(t);
  const dir = mkdtempSync(join(tmpdir(), "bt-proxy-spool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = createSpool({ dir });
  const delivery = createDelivery({
    url: receiver.url,
    ...base,
    proxy: `http://127.0.0.1:${port}`,
    ca: privateCa().caCert,
    spool,
    retry: { maxAttempts: 1, baseDelayMs: 60_000, maxDelayMs: 60_000 },
  });
  t.after(() => delivery.close());
  const sent = [payload(), payload()];
  const outcomes = await Promise.all(sent.map((p) => delivery.submit(p)));
  assert.deepEqual(outcomes.map((o) => o.status === "failed" && o.spooled && o.reason), ["retries-exhausted", "retries-exhausted"]);
  assert.equal(receiver.requests.length, 0);
  await startTinyproxy(t, { port });
  await delivery.replay();
  await receiver.waitFor(2);
  assert.deepEqual(receiver.requests.map((r) => (r.report as { uuid: string }).uuid).sort(), sent.map((p) => p.uuid).sort());
  assert.equal(delivery.counters().replayed, 2);
});
