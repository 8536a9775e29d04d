import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { BacktraceClient, getCurrentScope } from "../../src/index.js";
import { fastifyPlugin } from "../../src/integrations/fastify.js";
import { startReceiver, type Receiver } from "../helpers/http-receiver.js";
import { request } from "../helpers/http-request.js";

const load = createRequire(import.meta.url);
const attrs = (report: unknown): Record<string, unknown> => (report as { attributes: Record<string, unknown> }).attributes;
/* eslint-disable @typescript-eslint/no-explicit-any -- the aliased fastify versions are loaded by name */

async function startApp(name: string, receiver: Receiver) {
  const fastify = load(name) as (options?: object) => any;
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  const app = fastify();
  // Registered at the root, and routes in a child context: the hooks must reach them (skip-override).
  await app.register(fastifyPlugin({ client }));
  await app.register(async (child: any) => {
    child.get("/users/:id/fail", () => {
      throw new Error("sync failure");
    });
    child.post("/async/:id", async (req: any) => {
      getCurrentScope()?.setUser({ id: req.body.user });
      await new Promise((resolve) => setTimeout(resolve, Number(req.body.wait)));
      throw new Error(`failed for ${req.body.user}`);
    });
    child.get("/missing", async () => {
      throw Object.assign(new Error("gone"), { statusCode: 404 });
    });
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  return {
    client,
    port: app.server.address().port as number,
    close: async () => {
      await client.finalize();
      await app.close();
    },
  };
}

for (const name of ["fastify4", "fastify5"]) {
  test(`${name}: a sync throw and an async rejection (after the body is read) are reported with their request; 404s are not`, async () => {
    const receiver = await startReceiver();
    const app = await startApp(name, receiver);
    try {
      const answer = await request(app.port, "/users/3/fail", { cookie: "sid=zzz", "x-request-id": "abc" });
      assert.equal(answer.status, 500);
      assert.match(answer.body, /sync failure/);
      assert.equal((await request(app.port, "/nope")).status, 404);
      assert.equal((await request(app.port, "/missing")).status, 404);
      await app.client.flush(5);
      assert.equal(receiver.requests.length, 1);
      const a = attrs(receiver.requests[0]!.report);
      assert.equal(a["request.route"], "/users/:id/fail");
      assert.equal(a["request.path"], "/users/3/fail");
      assert.equal(a["request.method"], "GET");
      assert.equal(a["response.status"], 500);
      assert.equal(typeof a["request.id"], "string");
      assert.equal(a["request.header.cookie"], undefined);

      const users = ["ann", "bob", "cy", "dee"];
      const answers = await Promise.all(
        users.map((user, i) => request(app.port, "/async/1", { "content-type": "application/json" }, "POST", JSON.stringify({ user, wait: (users.length - i) * 15 }))),
      );
      for (const each of answers) assert.equal(each.status, 500);
      await app.client.flush(5);
      assert.equal(receiver.requests.length, 1 + users.length);
      for (const r of receiver.requests.slice(1)) {
        const b = attrs(r.report);
        assert.equal(b["error.message"], `failed for ${b["user.id"]}`);
        assert.equal(b["request.route"], "/async/:id");
        assert.equal(b["request.method"], "POST");
      }
    } finally {
      await app.close();
      await receiver.close();
    }
  });
}

for (const name of ["fastify4", "fastify5"]) {
  test(`${name}: the app's setErrorHandler decides the status of an error without one: its 4xx is not reported, its 5xx is, with that status`, async () => {
    const receiver = await startReceiver();
    const fastify = load(name) as (options?: object) => any;
    const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
    const app = fastify();
    await app.register(fastifyPlugin({ client }));
    app.setErrorHandler((error: any, _request: any, reply: any) => {
      void reply.code(error.message.startsWith("validation") ? 422 : 503).send({ failed: error.message });
    });
    app.get("/orders/:id", (req: any) => {
      throw new Error(req.params.id === "bad" ? "validation failed" : "database down");
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const port = app.server.address().port as number;
      assert.equal((await request(port, "/orders/bad")).status, 422);
      assert.equal((await request(port, "/orders/7")).status, 503);
      await client.flush(5);
      assert.equal(receiver.requests.length, 1);
      const a = attrs(receiver.requests[0]!.report);
      assert.equal(a["error.message"], "database down");
      assert.equal(a["response.status"], 503);
      assert.equal(a["request.route"], "/orders/:id");
    } finally {
      await client.finalize();
      await app.close();
      await receiver.close();
    }
  });
}

