import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { startReceiver } from "../src/index.js";
import { isReceiverError } from "../src/errors.js";
import { resolveOptions } from "../src/options.js";
import { getJson, nodeBody, send, startTemp, submitUrl, tempDir, type TempReceiver } from "./helpers.js";

function nested(levels: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { level: value };
  return value;
}

describe("DNS rebinding: the Host header", () => {
  let t: TempReceiver;
  before(async () => {
    t = await startTemp({ allowedHosts: ["receiver.test", ".dev.test"] });
    assert.equal((await send(submitUrl(t.url), JSON.stringify(nodeBody()))).status, 200);
  });
  after(() => t.receiver.close());

  test("refuses pages, the API, downloads and submissions for a forged Host", async () => {
    for (const path of ["/", "/api/reports", "/api/groups", "/attachments/1", "/events"]) {
      const reply = await send(`${t.url}${path}`, undefined, { headers: { host: `attacker.example:${t.receiver.port}` } });
      assert.equal(reply.status, 403, path);
      assert.doesNotMatch(reply.text, /node-host|config missing/, path);
      assert.match(reply.text, /--allowed-hosts/);
    }
    const post = await send(submitUrl(t.url), JSON.stringify(nodeBody()), { headers: { host: "attacker.example" } });
    assert.equal(post.status, 403);
    assert.equal((await getJson(`${t.url}/api/reports`)).total, 1);
  });

  test("serves loopback names with the listening port, and no other port", async () => {
    const port = t.receiver.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { host } })).status, 200, host);
    }
    for (const host of [`localhost:${port + 1}`, "localhost", `127.0.0.1.attacker.example:${port}`, "[::1"]) {
      assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { host } })).status, 403, host);
    }
  });

  test("serves the names given in allowedHosts, with subdomains for a leading dot", async () => {
    for (const host of ["receiver.test", "receiver.test:8080", "dev.test", "a.dev.test:1"]) {
      assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { host } })).status, 200, host);
    }
    assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { host: "xreceiver.test" } })).status, 403);
    assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { host: "notdev.test" } })).status, 403);
  });
});

describe("cross-site submissions", () => {
  let t: TempReceiver;
  before(async () => {
    t = await startTemp({ allowOrigins: ["http://localhost:3000"] });
  });
  after(() => t.receiver.close());

  test("refuses a text/plain POST from a web page with a foreign Origin, and stores nothing", async () => {
    const body = nodeBody();
    const reply = await send(submitUrl(t.url), JSON.stringify(body), { headers: { "content-type": "text/plain", origin: "https://attacker.example" } });
    assert.equal(reply.status, 403);
    assert.match(reply.json.message, /--allow-origin https:\/\/attacker\.example/);
    const nullOrigin = await send(submitUrl(t.url), JSON.stringify(body), { headers: { "content-type": "text/plain", origin: "null" } });
    assert.equal(nullOrigin.status, 403);
    const fetchSite = await send(submitUrl(t.url), JSON.stringify(body), { headers: { "sec-fetch-site": "cross-site" } });
    assert.equal(fetchSite.status, 403);
    assert.equal((await send(`${t.url}/api/reports/${body.uuid}`)).status, 404);
  });

  test("accepts an origin listed in allowOrigins, answers its preflight, and lets it read the answer", async () => {
    const origin = "http://localhost:3000";
    const preflight = await send(submitUrl(t.url), undefined, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], origin);
    const reply = await send(submitUrl(t.url), JSON.stringify(nodeBody()), { headers: { origin, "sec-fetch-site": "same-site" } });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers["access-control-allow-origin"], origin);
  });

  test("accepts clients that send neither Origin nor Sec-Fetch-Site, as Node and Python clients do", async () => {
    assert.equal((await send(submitUrl(t.url), JSON.stringify(nodeBody()))).status, 200);
  });
});

describe("viewer token", () => {
  let t: TempReceiver;
  before(async () => {
    t = await startTemp({ viewerToken: "view-secret", token: "submit-secret" });
  });
  after(() => t.receiver.close());

  test("protects pages, the API, downloads and live events; asks the browser with a Basic challenge", async () => {
    for (const path of ["/", "/api/reports", "/api/groups", "/attachments/1", "/events", "/groups/x"]) {
      const reply = await send(`${t.url}${path}`);
      assert.equal(reply.status, 401, path);
      assert.match(String(reply.headers["www-authenticate"]), /^Basic realm=/);
    }
    const wrong = Buffer.from("user:nope").toString("base64");
    assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { authorization: `Basic ${wrong}` } })).status, 401);
  });

  test("accepts the token as a Basic password (any user) or as a Bearer token", async () => {
    const basic = Buffer.from("anyone:view-secret").toString("base64");
    assert.equal((await send(`${t.url}/api/reports`, undefined, { headers: { authorization: `Basic ${basic}` } })).status, 200);
    assert.equal((await send(`${t.url}/`, undefined, { headers: { authorization: "Bearer view-secret" } })).status, 200);
  });

  test("leaves submissions to the submission token", async () => {
    assert.equal((await send(submitUrl(t.url, "submit-secret"), JSON.stringify(nodeBody()))).status, 200);
    assert.equal((await send(submitUrl(t.url, "view-secret"), JSON.stringify(nodeBody()))).status, 403);
  });
});

describe("listening beyond loopback", () => {
  test("refuses a non-loopback host without a viewer token, before listening", async () => {
    for (const host of ["0.0.0.0", "::", "192.0.2.10", "receiver.example"]) {
      await assert.rejects(
        startReceiver({ host, port: 0, db: ":memory:" }),
        (error: unknown) => isReceiverError(error) && error.code === "BAD_OPTION" && /--viewer-token/.test(error.message) && /--allow-unprotected/.test(error.message),
        host,
      );
    }
  });

  test("allows it with a viewer token or when told so explicitly, and loopback addresses without either", () => {
    assert.equal(resolveOptions({ host: "0.0.0.0", viewerToken: "v" }).host, "0.0.0.0");
    assert.equal(resolveOptions({ host: "0.0.0.0", allowUnprotected: true }).allowUnprotected, true);
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) assert.equal(resolveOptions({ host }).host, host);
  });
});

describe("bodies nested too deep for the store", () => {
  let t: TempReceiver;
  before(async () => {
    t = await startTemp();
  });
  after(() => t.receiver.close());

  test("refuses a 2,000-deep body with 400 and the reason, and attribute filters keep working", async () => {
    for (const levels of [2000, 100_000]) {
      // Written as text: a value this deep is more than JSON.stringify's recursion can take.
      const text = JSON.stringify(nodeBody({ annotations: { deep: "HERE" } })).replace('"HERE"', "[".repeat(levels) + "]".repeat(levels));
      const reply = await send(submitUrl(t.url), text);
      assert.equal(reply.status, 400, `${levels}`);
      assert.match(reply.json.message, /deeper than 1000 levels/);
    }
    const ok = nodeBody();
    assert.equal((await send(submitUrl(t.url), JSON.stringify(ok))).status, 200);
    const filtered = await getJson(`${t.url}/api/reports?attr=cpu.boottime:1699990000.52`);
    assert.deepEqual(filtered.reports.map((r: any) => r.uuid), [ok.uuid]);
  });

  test("accepts a body exactly at the limit, and filters still answer", async () => {
    // The report object and "annotations" are two levels; the rest is the annotation itself.
    const body = nodeBody({ annotations: { deep: nested(998) } });
    const reply = await send(submitUrl(t.url), JSON.stringify(body));
    assert.equal(reply.status, 200, reply.text);
    assert.equal((await send(submitUrl(t.url), JSON.stringify(nodeBody({ annotations: { deep: nested(999) } })))).status, 400);
    const filtered = await getJson(`${t.url}/api/reports?attr=hostname:node-host&attr=cpu.boottime:1699990000.52`);
    assert.ok(filtered.reports.some((r: any) => r.uuid === body.uuid));
    assert.equal((await send(`${t.url}/reports/${body.uuid}`)).status, 200);
  });

  test("counts brackets inside strings as text", async () => {
    const body = nodeBody({ annotations: { text: "[".repeat(5000) + '\\"{'.repeat(100) } });
    assert.equal((await send(submitUrl(t.url), JSON.stringify(body))).status, 200);
  });
});

describe("logging", () => {
  test("a 500 logs the path of the request, never its query with the token", async () => {
    const lines: string[] = [];
    const t = await startTemp({ log: (line) => lines.push(line) });
    try {
      // Another process breaking the database under the receiver turns the next insert into a 500.
      const outside = new Database(t.db);
      outside.exec("DROP TABLE groups");
      outside.close();
      const reply = await send(submitUrl(t.url, "secret-token-123"), JSON.stringify(nodeBody()));
      assert.equal(reply.status, 500);
      const line = lines.find((l) => l.startsWith("500 "));
      assert.ok(line, lines.join("\n"));
      assert.match(line, /^500 POST \/post: /);
      assert.doesNotMatch(lines.join("\n"), /secret-token-123|token=/);
    } finally {
      await t.receiver.close();
    }
  });
});
