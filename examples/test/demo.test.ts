import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startReceiver } from "backtrace-ts-receiver";

// The demo end to end: the built example app reports to the real receiver, then dies of an uncaught exception.
const app = fileURLToPath(new URL("../dist/app.js", import.meta.url));

interface Listed { rxid: string; errorType: string; message: string; classifier: string }

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}

test("the example app's four reports reach the receiver, the crash included, and it exits as Node would", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-demo-"));
  const receiver = await startReceiver({ port: 0, db: join(dir, "reports.sqlite"), log: () => undefined });
  try {
    const child = spawn(process.execPath, [app, receiver.url], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, XDG_CACHE_HOME: join(dir, "cache") },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 1);
    assert.match(stdout, /handled error: sent\nmessage: sent\nreport with attachment: sent/);
    assert.match(stderr, /TypeError: card declined for order A-1001/);

    const { reports } = await getJson<{ reports: Listed[] }>(`${receiver.url}/api/reports`);
    const byType = new Map(reports.map((r) => [r.errorType, r]));
    assert.equal(reports.length, 4);
    assert.deepEqual([...byType.keys()].sort(), ["Exception", "Message", "Unhandled exception"]);
    const crash = byType.get("Unhandled exception")!;
    assert.equal(crash.classifier, "TypeError");

    // Frames point at the TypeScript source through the source maps tsc wrote.
    const detail = await getJson<{ report: { body: any; flags: string[] } }>(`${receiver.url}/api/reports/${crash.rxid}`);
    const body = detail.report.body;
    const top = body.threads[body.mainThread].stack[0];
    assert.equal(top.funcName, "chargeCard");
    assert.match(top.library, /examples[\\/]src[\\/]orders\.ts$/);
    assert.match(body.sourceCode[top.sourceCode].text, /throw new TypeError\(`card declined/);
    assert.deepEqual(detail.report.flags, []);

    const handled = reports.find((r) => r.errorType === "Exception" && r.classifier === "InventoryError")!;
    const handledDetail = await getJson<{ report: { body: any } }>(`${receiver.url}/api/reports/${handled.rxid}`);
    assert.equal(handledDetail.report.body.annotations.Exception.cause.type, "RangeError");

    const withAttachment = reports.find((r) => r.message === "payment page timed out")!;
    const attached = await getJson<{ attachments: Array<{ name: string; url: string }> }>(`${receiver.url}/api/reports/${withAttachment.rxid}`);
    assert.deepEqual(attached.attachments.map((a) => a.name), ["bt-breadcrumbs-0", "checkout-demo.log"]);
  } finally {
    await receiver.close();
  }
});
