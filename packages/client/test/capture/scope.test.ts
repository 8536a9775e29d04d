// Scopes: values set in one async flow reach only the reports made in it, crash reports included.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { BacktraceClient } from "../../src/index.js";
import { runNode } from "../helpers/child.js";
import { startReceiver, type ReceivedRequest } from "../helpers/http-receiver.js";

const fixtures = fileURLToPath(new URL("../fixtures/scope/", import.meta.url));

interface Body {
  attributes: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

function crumbMessages(request: ReceivedRequest): string[] {
  const part = request.parts?.find((p) => p.name === "attachment_bt-breadcrumbs-0");
  return part ? (JSON.parse(part.data.toString()) as Array<{ message: string }>).map((c) => c.message) : [];
}

/** Resolves after `turns` trips through the event loop, so that requests interleave. */
function turns(count: number): Promise<void> {
  return count <= 0 ? Promise.resolve() : new Promise((resolve) => setImmediate(() => void turns(count - 1).then(resolve)));
}

test("100 interleaved requests, each in its own scope, never see each other's values", async () => {
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, concurrency: 4, breadcrumbs: { console: false, http: false } });
  client.setAttribute("tier", "client");
  client.addBreadcrumb("client-wide");
  const server = http.createServer((req, res) => {
    const id = Number(new URL(req.url ?? "/", "http://x").searchParams.get("id"));
    client.withScope(async (scope) => {
      scope.setUser({ id, email: `u${id}@example.com`, name: `user ${id}` });
      scope.setAttribute("request.id", id);
      scope.setAnnotation("request", { id });
      client.addBreadcrumb(`start ${id}`);
      await turns((id * 7) % 13);
      client.addBreadcrumb(`middle ${id}`);
      await turns((id * 3) % 5);
      await client.sendException(new Error(`failed ${id}`));
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    await Promise.all(
      Array.from({ length: 100 }, (_, id) =>
        new Promise<void>((resolve, reject) => {
          http.get({ host: "127.0.0.1", port, path: `/?id=${id}`, agent }, (res) => res.resume().on("end", resolve)).on("error", reject);
        }),
      ),
    );
    agent.destroy();
    await client.flush();
    assert.equal(receiver.requests.length, 100);
    const seen = new Set<number>();
    for (const request of receiver.requests) {
      const body = request.report as Body;
      const id = Number(body.attributes["request.id"]);
      seen.add(id);
      assert.equal(body.attributes["error.message"], `failed ${id}`);
      assert.equal(body.attributes["user.id"], id);
      assert.equal(body.attributes["user.email"], `u${id}@example.com`);
      assert.equal(body.attributes["user.name"], `user ${id}`);
      assert.equal(body.attributes["tier"], "client");
      assert.deepEqual(body.annotations["request"], { id });
      assert.deepEqual(crumbMessages(request), ["client-wide", `start ${id}`, `middle ${id}`]);
    }
    assert.equal(seen.size, 100);
  } finally {
    server.close();
    await client.finalize();
    await receiver.close();
  }
});

test("nested scopes layer over the outer one and the client; a report made outside carries none of them", async () => {
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true, attributes: { app: "a", gone: "x" } });
  try {
    const inner = client.withScope((outer) => {
      outer.setAttribute("level", "outer").setAttribute("outer.only", true);
      return client.withScope((scope) => {
        scope.setAttribute("level", "inner").removeAttribute("gone");
        return client.createReport();
      });
    });
    const attributes = inner.getAttributes();
    assert.deepEqual([attributes["level"], attributes["outer.only"], attributes["app"], "gone" in attributes], ["inner", true, "a", false]);
    await inner.send();
    await client.sendReport("outside");
    await client.flush();
    const [first, second] = receiver.requests.map((r) => (r.report as Body).attributes);
    assert.deepEqual([first?.["level"], first?.["gone"]], ["inner", undefined]);
    assert.deepEqual([second?.["level"], second?.["gone"]], [undefined, "x"]);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("a report carries its scope's values as they were when it was made, and one made after a change is never merged into it", async () => {
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, token: "t", spool: false, disableGlobalHandler: true });
  const EACH = 30;
  try {
    // In one synchronous run: past the first few, each report still waits to be built when the next comes (a duplicate of
    // a waiting one is merged into it).
    client.withScope((scope) => {
      const fail = (): Error => new Error("payment 12 declined");
      scope.setAttribute("step", "charge").setAnnotation("cart", { items: 1 });
      for (let i = 0; i < EACH; i++) void client.sendException(fail());
      scope.setAttribute("step", "refund").setAnnotation("cart", { items: 2 });
      for (let i = 0; i < EACH; i++) void client.sendException(fail());
    });
    await client.flush();
    const occurrences: Record<string, number> = {};
    for (const request of receiver.requests) {
      const body = request.report as Body;
      const key = `${String(body.attributes["step"])} ${(body.annotations["cart"] as { items: number }).items}`;
      occurrences[key] = (occurrences[key] ?? 0) + Number(new URL(request.url, "http://x").searchParams.get("_mod_duplicate") ?? 1);
    }
    assert.deepEqual(occurrences, { "charge 1": EACH, "refund 2": EACH }, "each report with the values of its own occurrences");
    assert.ok(receiver.requests.length < 2 * EACH, "duplicates at one version were merged");
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

for (const crash of ["exception", "rejection"] as const) {
  test(`an unhandled ${crash} thrown inside a scope carries the scope's values`, async () => {
    const receiver = await startReceiver();
    try {
      const result = await runNode(["crash-in-scope.cjs"], { cwd: fixtures, env: { BT_ENDPOINT: receiver.url, CRASH: crash } });
      assert.equal(result.code, 1, result.stderr);
      await receiver.waitFor(1);
      const request = receiver.requests[0]!;
      const body = request.report as Body;
      assert.equal(body.attributes["error.type"], crash === "exception" ? "Unhandled exception" : "Unhandled rejection");
      assert.deepEqual(
        [body.attributes["user.id"], body.attributes["user.email"], body.attributes["user.name"], body.attributes["request.id"], body.attributes["tier"]],
        [42, "ann@example.com", "Ann", "r-1", "client"],
      );
      assert.deepEqual(body.annotations["request"], { path: "/pay" });
      assert.deepEqual(crumbMessages(request), ["inside the scope"]);
    } finally {
      await receiver.close();
    }
  });
}
