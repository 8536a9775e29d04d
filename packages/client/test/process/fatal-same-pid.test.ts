// A diagnostic report left by a previous process with this process's pid (containers start as pid 1 every time) is a
// crash to send, even when that process crashed in the second this one started or ran under another time zone; one
// this process writes itself is not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { CLIENT_DIR } from "../helpers/project.js";

for (const [when, hoursAhead] of [
  ["in the second this one started", 0],
  ["under a time zone 9 hours ahead", 9],
] as const) {
  test(`a previous process with the same pid that crashed ${when}: its diagnostic report is sent, this process's own is not`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bt-same-pid-"));
    const receiver = await startReceiver();
    try {
      const spool = join(dir, "spool");
      const app = join(dir, "app.cjs");
      writeFileSync(
        app,
        `const fs = require("node:fs"), path = require("node:path");\n` +
          `const fatal = path.join(${JSON.stringify(spool)}, "fatal");\n` +
          `fs.mkdirSync(fatal, { recursive: true, mode: 0o700 });\n` +
          // The name as Node makes it (the writer's local time, whole seconds), this pid (a sequence number that this
          // process's own report below does not reuse); written before this process started.
          `const t = new Date(Date.now() + ${hoursAhead} * 3600_000), p = (n) => String(n).padStart(2, "0");\n` +
          `const name = "report." + t.getFullYear() + p(t.getMonth() + 1) + p(t.getDate()) + "." + p(t.getHours()) + p(t.getMinutes()) + p(t.getSeconds()) + "." + process.pid + ".0.009.json";\n` +
          `const report = process.report.getReport(new Error("the previous process")); report.header.trigger = "OOMError"; report.header.event = "Allocation failed - JavaScript heap out of memory";\n` +
          `fs.writeFileSync(path.join(fatal, name), JSON.stringify(report));\n` +
          `const before = new Date(performance.timeOrigin - 300);\n` +
          `fs.utimesSync(path.join(fatal, name), before, before);\n` +
          `const bt = require(${JSON.stringify(join(CLIENT_DIR, "dist/index.cjs"))});\n` +
          `bt.initialize({ endpoint: process.env.BT_ENDPOINT, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 1, exitTimeout: 2 });\n` +
          // And one this process writes itself, after starting: no crash.
          `process.report.writeReport();\n` +
          `setTimeout(() => bt.flush(3), 1500);\n`,
      );
      const result = await runNode([app], { env: { BT_ENDPOINT: receiver.url } }, 15_000);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(receiver.requests.length, 1, "the previous process's crash, and only it");
      const attributes = (receiver.requests[0]!.report as { attributes: Record<string, unknown> }).attributes;
      assert.equal(attributes["error.type"], "Crash");
      const left = readdirSync(join(spool, "fatal")).filter((name) => name.startsWith("report."));
      assert.equal(left.length, 1, "this process's own report stays");
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
