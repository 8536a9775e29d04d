// Express's errorHandler decides a report when the answer ends: a process that ends right after the application's own
// error handler answered (process.exit, a crash) still has the report, spooled by the exit path and sent by the next start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { CLIENT_DIR } from "../helpers/project.js";

const express = createRequire(import.meta.url).resolve("express4");

for (const [how, after] of [
  ["process.exit(1)", "process.exit(1);"],
  ["an uncaught exception", 'setImmediate(() => { throw new Error("then it crashed"); });'],
] as const) {
  test(`a request error whose answer was sent just before ${how} is reported by the next start`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bt-answer-exit-"));
    const receiver = await startReceiver();
    try {
      const init = (extra: string): string =>
        `const bt = require(${JSON.stringify(join(CLIENT_DIR, "dist/index.cjs"))});\n` +
        `bt.initialize({ endpoint: process.env.BT_ENDPOINT, token: "t", spool: process.env.BT_SPOOL, exitTimeout: 2, ${extra} });\n`;
      const app = join(dir, "app.cjs");
      writeFileSync(
        app,
        init("") +
          `const http = require("node:http");\n` +
          `const { errorHandler, requestHandler } = require(${JSON.stringify(join(CLIENT_DIR, "dist/integrations.cjs"))});\n` +
          `const app = require(${JSON.stringify(express)})();\n` +
          `app.use(requestHandler());\n` +
          `app.get("/fail", () => { throw new Error("handler failed"); });\n` +
          `app.use(errorHandler());\n` +
          `app.use((err, req, res, next) => { res.status(500).end("bad"); ${after} });\n` +
          `const server = app.listen(0, "127.0.0.1", () => http.get("http://127.0.0.1:" + server.address().port + "/fail", (res) => res.resume()));\n`,
      );
      // No network for the first run: what it reports is spooled, and nothing is sent twice.
      const env = { BT_ENDPOINT: "http://127.0.0.1:9", BT_SPOOL: join(dir, "spool") };
      const first = await runNode([app], { env }, 15_000);
      assert.equal(first.code, 1, first.stderr);
      const next = join(dir, "next.cjs");
      writeFileSync(next, init("disableGlobalHandler: true") + "setTimeout(() => bt.flush(5), 1000);\n");
      const second = await runNode([next], { env: { ...env, BT_ENDPOINT: receiver.url } }, 15_000);
      assert.equal(second.code, 0, second.stderr);
      const messages = receiver.requests.map((r) => (r.report as { attributes: Record<string, unknown> }).attributes["error.message"]);
      assert.ok(messages.includes("handler failed"), JSON.stringify(messages));
      const reported = receiver.requests.find((r) => (r.report as { attributes: Record<string, unknown> }).attributes["error.message"] === "handler failed");
      assert.equal((reported!.report as { attributes: Record<string, unknown> }).attributes["response.status"], 500);
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("an error handed to errorHandler with a response that never finishes (a fake one) is reported when the process has nothing left to do", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-answer-never-"));
  const receiver = await startReceiver();
  try {
    const app = join(dir, "app.cjs");
    writeFileSync(
      app,
      `const { EventEmitter } = require("node:events");\n` +
        `const bt = require(${JSON.stringify(join(CLIENT_DIR, "dist/index.cjs"))});\n` +
        `const { errorHandler } = require(${JSON.stringify(join(CLIENT_DIR, "dist/integrations.cjs"))});\n` +
        `bt.initialize({ endpoint: process.env.BT_ENDPOINT, token: "t", spool: false, exitTimeout: 5 });\n` +
        `const res = Object.assign(new EventEmitter(), { statusCode: 503 });\n` +
        `errorHandler()(new Error("never answered"), { method: "GET", url: "/x", headers: {} }, res, () => {});\n`,
    );
    const result = await runNode([app], { env: { BT_ENDPOINT: receiver.url } }, 15_000);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(receiver.requests.length, 1);
    const attributes = (receiver.requests[0]!.report as { attributes: Record<string, unknown> }).attributes;
    assert.equal(attributes["error.message"], "never answered");
    assert.equal(attributes["response.status"], 503);
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
