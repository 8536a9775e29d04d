import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { BacktraceClient, getCurrentScope } from "../../src/index.js";
import { wrapListener } from "../../src/integrations/http.js";
import { collect, startNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { firstLine, request } from "../helpers/http-request.js";

const attrs = (report: unknown): Record<string, unknown> => (report as { attributes: Record<string, unknown> }).attributes;
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/integrations/${name}`, import.meta.url));

async function crashServer(script: string, path: string, body?: string) {
  const receiver = await startReceiver();
  const env = { BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "t0k3n", BACKTRACE_SPOOL: "off" };
  const child = startNode(["--import", "backtrace-ts/register", fixture(script)], { env });
  const done = collect(child);
  const port = Number(await firstLine(child));
  await request(port, path, {}, body === undefined ? "GET" : "POST", body).catch(() => undefined);
  const result = await done;
  await receiver.close();
  return { result, reports: receiver.requests.map((r) => attrs(r.report)) };
}

test("node:http: a synchronous throw in the listener is still Node's uncaught exception, reported with the request", async () => {
  const { result, reports } = await crashServer("http-sync-crash.cjs", "/items/12?x=1");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: listener threw for \/items\/12\n/);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!["error.type"], "Unhandled exception");
  assert.equal(reports[0]!["request.method"], "GET");
  assert.equal(reports[0]!["request.path"], "/items/12");
  assert.equal(reports[0]!["request.route"], "/items/:id");
});

test("node:http: an async rejection ends the process as before, and its report carries the request and the user", async () => {
  const { result, reports } = await crashServer("http-async-crash.mjs", "/reject");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: rejected in listener/);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!["error.type"], "Unhandled rejection");
  assert.equal(reports[0]!["request.path"], "/reject");
  assert.equal(reports[0]!["user.id"], "u-http");
});

test("node:http: a throw from the request's 'end' event (emitted from the socket) still carries the request", async () => {
  const { result, reports } = await crashServer("http-async-crash.mjs", "/body", "payload");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Error: failed on body payload/);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!["request.method"], "POST");
  assert.equal(reports[0]!["request.path"], "/body");
  assert.equal(reports[0]!["user.id"], "u-http");
});

test("node:http: a 404 is not reported; errors the app reports itself carry their own request and user only", async () => {
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  const server = http.createServer(
    wrapListener(
      async (req, res) => {
        const [, kind, name, wait] = (req.url ?? "").split("/");
        if (kind !== "who") {
          res.writeHead(404).end("not found");
          return;
        }
        getCurrentScope()?.setUser({ id: name });
        await new Promise((resolve) => setTimeout(resolve, Number(wait)));
        res.writeHead(500).end();
        await client.sendException(new Error(`failed for ${name}`));
      },
      { client },
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    assert.equal((await request(port, "/nothing")).status, 404);
    const names = ["ann", "bob", "cy", "dee"];
    await Promise.all(names.map((name, i) => request(port, `/who/${name}/${(names.length - i) * 15}`)));
    await client.flush(5);
    assert.equal(receiver.requests.length, names.length);
    for (const r of receiver.requests) {
      const a = attrs(r.report);
      assert.equal(a["error.message"], `failed for ${a["user.id"]}`);
      assert.match(String(a["request.path"]), new RegExp(`^/who/${String(a["user.id"])}/`));
      assert.equal(a["response.status"], 500);
    }
  } finally {
    await client.finalize();
    await new Promise((resolve) => server.close(resolve));
    await receiver.close();
  }
});

test("node:http: a listener's throw reaches the application's own try/catch unchanged, at once", async (t) => {
  const r = await startReceiver();
  const client = new BacktraceClient({ endpoint: r.url, token: "t", spool: false, disableGlobalHandler: true });
  t.after(async () => {
    await client.finalize();
    await r.close();
  });
  const wrapped = wrapListener(() => {
    throw new Error("handler failed");
  }, { client });
  const server = http.createServer((req, res) => {
    try {
      wrapped(req, res);
      res.end("no error");
    } catch (error) {
      res.statusCode = 500;
      res.end(`caught: ${(error as Error).message}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const answer = await request((server.address() as AddressInfo).port, "/");
  assert.equal(answer.status, 500);
  assert.equal(answer.body, "caught: handler failed");
});
