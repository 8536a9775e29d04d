import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BacktraceClient, type BacktraceOptions, type ClientCounters } from "../../src/index.js";
import { parseRecord, recordText } from "../../src/spool/spool-files.js";
import { postReport } from "../../src/transport/post.js";
import { jsonBody } from "../../src/payload.js";
import { reportJson, startReceiver } from "../helpers/http-receiver.js";

test("a spooled record keeps its duplicate count, and the record sent again carries _mod_duplicate on its URL", async () => {
  const uuid = randomUUID();
  const record = parseRecord(recordText({ uuid, json: jsonBody(reportJson(uuid)), attachments: [], duplicates: 7 }));
  assert.equal(record?.duplicates, 7);
  assert.equal(parseRecord(recordText({ uuid, json: jsonBody(reportJson(uuid)), attachments: [] }))?.duplicates, undefined);
  const receiver = await startReceiver();
  try {
    const result = await postReport(`${receiver.url}?format=json&token=a%2Bb`, record!, { timeoutMs: 2000, ignoreSslCertificate: false });
    assert.equal(result.kind, "response");
    assert.match(receiver.requests[0]!.url, /\?format=json&token=a%2Bb&_mod_duplicate=7$/);
  } finally {
    await receiver.close();
  }
});

const duplicateCount = (url: string): number => Number(new URL(url, "http://x").searchParams.get("_mod_duplicate") ?? 1);

/** Storms of `per` occurrences each, one fingerprint a storm (the word differs), sent to an endpoint that is down: spooled. */
async function spoolStorms(spool: string, storms: number, per: number, options: Partial<BacktraceOptions> = {}): Promise<ClientCounters> {
  const client = new BacktraceClient({ endpoint: "http://127.0.0.1:9", token: "t0k3n", spool, timeout: 1, disableGlobalHandler: true, ...options });
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
  const sends = [];
  for (let k = 0; k < storms; k++) for (let i = 0; i < per; i++) sends.push(client.sendException(new Error(`storm ${words[k]} ${i}`)));
  // flush keeps the process up while the retries back off (their timers do not).
  assert.equal(await client.flush(30), true);
  await Promise.all(sends);
  await client.finalize();
  return client.counters();
}

test("occurrences merged into spooled reports evicted from a full spool are counted in mergedLost", async (t) => {
  const spool = mkdtempSync(join(tmpdir(), "bt-spool-dup-"));
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const storms = 6;
  const per = 50;
  const first = await spoolStorms(spool, storms, per, { spoolMaxRecords: 2 });
  assert.equal(first.captured, storms * per);
  assert.equal(first.merged, storms * (per - 1));
  assert.equal(first.dropped["spool-full"], storms - 2);

  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const next = new BacktraceClient({ endpoint: receiver.url, token: "t0k3n", spool, disableGlobalHandler: true });
  await waitFor(() => receiver.requests.length >= 2);
  await next.finalize();
  const arrived = receiver.requests.reduce((sum, r) => sum + duplicateCount(r.url), 0);
  assert.equal(arrived, 2 * per);
  // Every occurrence: arrived, or dropped with its report (spool-full counts the report, mergedLost the rest).
  assert.equal(arrived + first.dropped["spool-full"]! + first.mergedLost, storms * per);
});

test("occurrences merged into spooled reports that the server rejects when replayed are counted in mergedLost", async (t) => {
  const spool = mkdtempSync(join(tmpdir(), "bt-spool-dup-"));
  t.after(() => rmSync(spool, { recursive: true, force: true }));
  const first = await spoolStorms(spool, 3, 40);
  assert.equal(first.spooled, 3);
  assert.equal(first.mergedLost, 0);

  const receiver = await startReceiver({ script: () => ({ status: 400 }) });
  t.after(() => receiver.close());
  const next = new BacktraceClient({ endpoint: receiver.url, token: "t0k3n", spool, disableGlobalHandler: true });
  await waitFor(() => (next.counters().dropped["bad-request"] ?? 0) >= 3);
  await next.finalize();
  const counters = next.counters();
  assert.equal(counters.dropped["bad-request"], 3);
  assert.equal(counters.mergedLost, 3 * 39, "the occurrences the rejected reports carried besides their own");
});

async function waitFor(done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
