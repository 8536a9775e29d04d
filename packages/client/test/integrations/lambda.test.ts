import { test } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient } from "../../src/index.js";
import { wrapHandler } from "../../src/integrations/lambda.js";
import { startReceiver } from "../helpers/http-receiver.js";

const attrs = (report: unknown): Record<string, unknown> => (report as { attributes: Record<string, unknown> }).attributes;
const context = (remainingMs: number) => ({
  awsRequestId: "aws-req-1",
  functionName: "orders",
  functionVersion: "$LATEST",
  getRemainingTimeInMillis: () => remainingMs,
});
// An API Gateway HTTP API (v2) event.
const event = {
  routeKey: "POST /orders/{id}",
  rawPath: "/orders/77",
  rawQueryString: "apikey=k-secret&x=1&code=oauth-code",
  headers: { "User-Agent": "curl", Cookie: "sid=nope" },
  requestContext: { http: { method: "POST" } },
};

test("lambda: the report of a thrown error has arrived when the wrapped handler rejects, with the same error", async () => {
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  try {
    const thrown = new Error("handler failed");
    const handler = wrapHandler(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw thrown;
    }, { client });
    await assert.rejects(handler(event, context(10_000)), (error: unknown) => error === thrown);
    // No flush here: the wrapper waited for delivery before it gave the error back.
    assert.equal(receiver.requests.length, 1);
    const a = attrs(receiver.requests[0]!.report);
    assert.equal(a["request.id"], "aws-req-1");
    assert.equal(a["lambda.function"], "orders");
    assert.equal(a["request.method"], "POST");
    assert.equal(a["request.route"], "/orders/{id}");
    assert.equal(a["request.path"], "/orders/77");
    assert.equal(a["request.header.user-agent"], "curl");
    assert.equal(a["request.header.cookie"], undefined);
    assert.deepEqual((receiver.requests[0]!.report as { annotations: Record<string, unknown> }).annotations["request.query"], { apikey: "[REDACTED]", x: "1", code: "[REDACTED]" });
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("lambda: a thrown error fails the invocation, so it is reported whatever status it carries", async () => {
  const receiver = await startReceiver();
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false });
  try {
    const notFound = Object.assign(new Error("no order"), { statusCode: 404 });
    await assert.rejects(wrapHandler(() => Promise.reject(notFound), { client })(event, context(10_000)), (error: unknown) => error === notFound);
    assert.equal(receiver.requests.length, 1);
    assert.equal(attrs(receiver.requests[0]!.report)["response.status"], 500);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});

test("lambda: results pass through (a 404 answered is not an error), and no time left means no wait", async () => {
  const receiver = await startReceiver({ script: () => ({ hang: true }) });
  const client = new BacktraceClient({ endpoint: receiver.url, spool: false, disableGlobalHandler: true, breadcrumbs: false, exitTimeout: 1 });
  try {
    assert.deepEqual(await wrapHandler(async (e: { n: number }) => ({ doubled: e.n * 2 }), { client })({ n: 2 }, context(1000)), { doubled: 4 });
    assert.deepEqual(await wrapHandler(async () => ({ statusCode: 404, body: "no order" }), { client })({}, context(1000)), { statusCode: 404, body: "no order" });
    assert.equal(receiver.requests.length, 0);
    // The endpoint hangs: with 100 ms left and a 500 ms margin, the flush does not wait at all.
    const failing = wrapHandler(() => Promise.reject(new Error("late")), { client });
    await assert.rejects(failing({}, context(100)), /late/);
    assert.equal(await client.flush(0), false);
  } finally {
    await client.finalize();
    await receiver.close();
  }
});
