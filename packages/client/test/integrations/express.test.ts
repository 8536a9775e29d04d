import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { BacktraceClient, getCurrentScope } from "../../src/index.js";
import { errorHandler, requestHandler } from "../../src/integrations/express.js";
import type { IntegrationOptions } from "../../src/integrations/request-context.js";
import { collect, startNode } from "../helpers/child.js";
import { startReceiver, type Receiver } from "../helpers/http-receiver.js";
import { firstLine, request } from "../helpers/http-request.js";

const load = createRequire(import.meta.url);
const attrs = (report: unknown): Record<string, unknown> => (report as { attributes: Record<string, unknown> }).attributes;
const annotations = (report: unknown): Record<string, unknown> => (report as { annotations: Record<string, unknown> }).annotations;
/* eslint-disable @typescript-eslint/no-explicit-any -- Express's own types are not installed for the aliased versions */
type Handler = (req: any, res: any, next: any) => unknown;

async function startApp(expressName: string, receiver: Receiver, options: Omit<IntegrationOptions, "client"> = {}) {
  const express = load(expressName) as any;
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  const app = express();
  app.use(requestHandler({ ...options, client }));
  app.get("/users/:id/fail", (() => {
    throw new Error("sync failure");
  }) as Handler);
  app.get("/missing/:id", ((_req, _res, next) => next(Object.assign(new Error("no such thing"), { status: 404 }))) as Handler);
  app.get("/who/:name", (async (req, _res, next) => {
    getCurrentScope()?.setUser({ id: req.params.name });
    await new Promise((resolve) => setTimeout(resolve, Number(req.query.wait)));
    next(new Error(`failed for ${req.params.name}`));
  }) as Handler);
  if (expressName === "express5") {
    app.get("/async/:id", (async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new Error("async failure");
    }) as Handler);
  }
  app.get("/validate/:code", ((req, _res, next) => next(Object.assign(new Error(`invalid input ${req.params.code}`), { answer: Number(req.params.code) }))) as Handler);
  app.use(errorHandler({ ...options, client }));
  // The application's own error handler: its answer must be what the client sees (and decides an error without a status).
  app.use(((err: any, _req: any, res: any, _next: any) => void res.status(err.status ?? err.answer ?? 500).send(`app says: ${err.message}`)) as (e: any, a: any, b: any, c: any) => void);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  return {
    client,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await client.finalize();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const expressName of ["express4", "express5"]) {
  test(`${expressName}: a sync throw is reported with the request's context, and the app's error handler still answers`, async () => {
    const receiver = await startReceiver();
    const app = await startApp(expressName, receiver);
    try {
      const answer = await request(app.port, "/users/42/fail?token=abc&page=2", {
        "user-agent": "test-agent",
        cookie: "sid=secret-cookie",
        authorization: "Bearer secret-bearer",
        "x-request-id": "req-1",
      });
      assert.deepEqual(answer, { status: 500, body: "app says: sync failure" });
      await app.client.flush(5);
      assert.equal(receiver.requests.length, 1);
      const report = receiver.requests[0]!.report;
      const a = attrs(report);
      assert.equal(a["error.message"], "sync failure");
      assert.equal(a["request.method"], "GET");
      assert.equal(a["request.route"], "/users/:id/fail");
      assert.equal(a["request.path"], "/users/42/fail");
      assert.equal(a["response.status"], 500);
      assert.equal(a["request.id"], "req-1");
      assert.equal(a["request.header.user-agent"], "test-agent");
      assert.equal(a["request.ip"], undefined);
      assert.deepEqual(annotations(report)["request.query"], { token: "[REDACTED]", page: "2" });
      // The body also carries this file's source, which holds the values: the report's own data is what is checked.
      const data = JSON.stringify([a, annotations(report)]);
      assert.doesNotMatch(data, /secret-cookie|secret-bearer|abc/);
    } finally {
      await app.close();
      await receiver.close();
    }
  });

  test(`${expressName}: a 404 (no route, or an error with status 404) is not reported unless asked, and clientIp is opt-in`, async () => {
    const receiver = await startReceiver();
    const quiet = await startApp(expressName, receiver);
    try {
      assert.equal((await request(quiet.port, "/nope")).status, 404);
      assert.deepEqual(await request(quiet.port, "/missing/1"), { status: 404, body: "app says: no such thing" });
      await quiet.client.flush(5);
      assert.equal(receiver.requests.length, 0);
    } finally {
      await quiet.close();
    }
    const loud = await startApp(expressName, receiver, { reportClientErrors: true, clientIp: true });
    try {
      assert.equal((await request(loud.port, "/missing/7")).status, 404);
      await loud.client.flush(5);
      assert.equal(receiver.requests.length, 1);
      const a = attrs(receiver.requests[0]!.report);
      assert.equal(a["response.status"], 404);
      assert.equal(a["request.route"], "/missing/:id");
      assert.equal(a["request.ip"], "127.0.0.1");
    } finally {
      await loud.close();
      await receiver.close();
    }
  });

  test(`${expressName}: concurrent requests with different users do not leak into each other's reports`, async () => {
    const receiver = await startReceiver();
    const app = await startApp(expressName, receiver);
    try {
      const names = ["ann", "bob", "cy", "dee", "eve", "fay"];
      // Later requests finish first, so their scopes interleave.
      const answers = await Promise.all(names.map((name, i) => request(app.port, `/who/${name}?wait=${(names.length - i) * 15}`)));
      for (const answer of answers) assert.equal(answer.status, 500);
      await app.client.flush(5);
      assert.equal(receiver.requests.length, names.length);
      for (const r of receiver.requests) {
        const a = attrs(r.report);
        assert.equal(a["error.message"], `failed for ${a["user.id"]}`);
        assert.equal(a["request.path"], `/who/${a["user.id"]}`);
        assert.equal(a["request.route"], "/who/:name");
      }
    } finally {
      await app.close();
      await receiver.close();
    }
  });
}

test("express5: an async rejection goes to the error handlers and is reported once", async () => {
  const receiver = await startReceiver();
  const app = await startApp("express5", receiver);
  try {
    assert.deepEqual(await request(app.port, "/async/9"), { status: 500, body: "app says: async failure" });
    await app.client.flush(5);
    assert.equal(receiver.requests.length, 1);
    assert.equal(attrs(receiver.requests[0]!.report)["request.route"], "/async/:id");
  } finally {
    await app.close();
    await receiver.close();
  }
});

test("express4: an async route's rejection ends the process as Node does, and its report carries the request (after a body parser)", async () => {
  const receiver = await startReceiver();
  try {
    const fixture = fileURLToPath(new URL("../fixtures/integrations/express4-async-crash.mjs", import.meta.url));
    const env = { BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "t0k3n", BACKTRACE_SPOOL: "off" };
    const child = startNode(["--import", "backtrace-ts/register", fixture], { env });
    const done = collect(child);
    const port = Number(await firstLine(child));
    await request(port, "/orders/5", { "content-type": "application/json" }, "POST", '{"qty":3}').catch(() => undefined);
    const result = await done;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error: order 5 failed, \{"qty":3\}/);
    assert.equal(receiver.requests.length, 1);
    const a = attrs(receiver.requests[0]!.report);
    assert.equal(a["error.type"], "Unhandled rejection");
    assert.equal(a["request.method"], "POST");
    assert.equal(a["request.route"], "/orders/:id");
    assert.equal(a["request.path"], "/orders/5");
    assert.equal(a["user.id"], "user-5");
  } finally {
    await receiver.close();
  }
});

for (const expressName of ["express4", "express5"]) {
  test(`${expressName}: an error without a status is decided by the answer of the app's own error handler after errorHandler()`, async () => {
    const receiver = await startReceiver();
    const app = await startApp(expressName, receiver);
    try {
      assert.deepEqual(await request(app.port, "/validate/422"), { status: 422, body: "app says: invalid input 422" });
      assert.deepEqual(await request(app.port, "/validate/503"), { status: 503, body: "app says: invalid input 503" });
      await app.client.flush(5);
      assert.equal(receiver.requests.length, 1, "the 422 the app answered is not reported; the 503 is");
      const a = attrs(receiver.requests[0]!.report);
      assert.equal(a["error.message"], "invalid input 503");
      assert.equal(a["response.status"], 503);
      assert.equal(a["request.route"], "/validate/:code");
    } finally {
      await app.close();
      await receiver.close();
    }
  });
}

