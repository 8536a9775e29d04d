import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { BacktraceClient } from "../../src/index.js";
import { koaMiddleware } from "../../src/integrations/koa.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { request } from "../helpers/http-request.js";

const load = createRequire(import.meta.url);
const attrs = (report: unknown): Record<string, unknown> => (report as { attributes: Record<string, unknown> }).attributes;
/* eslint-disable @typescript-eslint/no-explicit-any -- Koa's types are not installed */

test("koa: a sync throw and an async rejection are reported with their request and ctx.state.user; 404s are not; Koa still answers", async () => {
  const Koa = load("koa") as new () => any;
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  const app = new Koa();
  const koaErrors: string[] = [];
  app.on("error", (error: Error) => koaErrors.push(error.message));
  app.use(koaMiddleware({ client }));
  app.use(async (ctx: any, next: () => Promise<void>) => {
    const [, kind, user, wait] = ctx.path.split("/");
    ctx.state.user = { id: user };
    if (kind === "sync") throw new Error("sync failure");
    if (kind === "async") {
      await new Promise((resolve) => setTimeout(resolve, Number(wait)));
      throw new Error(`failed for ${user}`);
    }
    if (kind === "gone") ctx.throw(404, "gone");
    // Koa answers a missing file with 404 (its ctx.onerror maps ENOENT): not a server error either.
    if (kind === "missing") throw Object.assign(new Error("ENOENT: no such file, open 'x'"), { code: "ENOENT" });
    await next();
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  try {
    assert.deepEqual(await request(port, "/sync/zed?password=hunter2"), { status: 500, body: "Internal Server Error" });
    assert.equal((await request(port, "/nothing")).status, 404);
    assert.equal((await request(port, "/gone/x")).status, 404);
    assert.equal((await request(port, "/missing/x")).status, 404);
    await client.flush(5);
    assert.equal(receiver.requests.length, 1);
    const a = attrs(receiver.requests[0]!.report);
    assert.equal(a["request.path"], "/sync/zed");
    assert.equal(a["request.method"], "GET");
    assert.equal(a["response.status"], 500);
    assert.equal(a["user.id"], "zed");
    assert.deepEqual((receiver.requests[0]!.report as { annotations: Record<string, unknown> }).annotations["request.query"], { password: "[REDACTED]" });

    const users = ["ann", "bob", "cy"];
    await Promise.all(users.map((user, i) => request(port, `/async/${user}/${(users.length - i) * 15}`)));
    await client.flush(5);
    assert.equal(receiver.requests.length, 1 + users.length);
    for (const r of receiver.requests.slice(1)) {
      const b = attrs(r.report);
      assert.equal(b["error.message"], `failed for ${b["user.id"]}`);
      assert.match(String(b["request.path"]), new RegExp(`^/async/${String(b["user.id"])}/`));
    }
    // Koa's own error event still fires for each error, as without the middleware.
    assert.deepEqual(koaErrors.sort(), ["ENOENT: no such file, open 'x'", "failed for ann", "failed for bob", "failed for cy", "gone", "sync failure"].sort());
  } finally {
    await client.finalize();
    await new Promise((resolve) => server.close(resolve));
    await receiver.close();
  }
});
