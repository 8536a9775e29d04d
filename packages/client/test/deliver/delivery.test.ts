import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { createDelivery, type Delivery, type DeliveryConfig } from "../../src/deliver/delivery.js";
import { createSpool, type Spool } from "../../src/spool/spool.js";
import type { Payload } from "../../src/payload.js";
import { jsonBody, jsonText } from "../../src/payload.js";
import { reportJson, startReceiver, type Receiver, type ReceiverOptions } from "../helpers/http-receiver.js";
import { collect, runNode, startNode } from "../helpers/child.js";
import { reservedPort } from "../helpers/ports.js";

// Short delays so retries happen within a test; the logic is the same as with the defaults.
const fastRetry = { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 3 };

function payload(extra: Record<string, unknown> = {}): Payload {
  const uuid = randomUUID();
  return { uuid, json: jsonBody(reportJson(uuid, extra)), attachments: [] };
}

function spoolIn(t: TestContext, options: { maxRecords?: number } = {}): Spool {
  const dir = mkdtempSync(join(tmpdir(), "bt-delivery-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return createSpool({ dir, ...options });
}

async function receiver(t: TestContext, options: ReceiverOptions = {}): Promise<Receiver> {
  const r = await startReceiver(options);
  t.after(() => r.close());
  return r;
}

function delivery(t: TestContext, config: Partial<DeliveryConfig> & { url: string }): Delivery {
  // Delivery's timers are unref'd by design (the client keeps the process up with flush at exit);
  // here a referenced timer stands in for an application that is still running.
  const awake = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(awake));
  const d = createDelivery({ timeoutMs: 5000, ignoreSslCertificate: false, spool: undefined, retry: fastRetry, ...config });
  t.after(() => d.close());
  return d;
}

function uuidsOf(r: Receiver): string[] {
  return r.requests.map((request) => (request.report as { uuid: string }).uuid);
}

function allValid(r: Receiver): void {
  for (const request of r.requests) assert.deepEqual(request.validation?.errors, []);
}

test("sends a report and resolves with the server's rxid", async (t) => {
  const r = await receiver(t, { script: () => ({ body: '{"response":"ok","_rxid":"rx-42"}' }) });
  const d = delivery(t, { url: r.url });
  const sent = payload();
  assert.deepEqual(await d.submit(sent), { status: "sent", uuid: sent.uuid, rxid: "rx-42" });
  assert.deepEqual(uuidsOf(r), [sent.uuid]);
  allValid(r);
  assert.equal(d.counters().sent, 1);
  assert.equal(await d.flush(1000), true);
});

test("retries a 503 twice with backoff, then the 200 counts as sent with the same uuid", async (t) => {
  const r = await receiver(t, { script: (i) => (i < 2 ? { status: 503 } : undefined) });
  const d = delivery(t, { url: r.url });
  const sent = payload();
  const outcome = await d.submit(sent);
  assert.equal(outcome.status, "sent");
  assert.deepEqual(uuidsOf(r), [sent.uuid, sent.uuid, sent.uuid]);
  const { sent: ok, retried, failed } = d.counters();
  assert.deepEqual({ ok, retried, failed }, { ok: 1, retried: 2, failed: 0 });
});

test("a 429 with Retry-After: 2 gets no request before 2 s have passed", async (t) => {
  const r = await receiver(t, { script: (i) => (i === 0 ? { status: 429, headers: { "Retry-After": "2" } } : undefined) });
  const d = delivery(t, { url: r.url, concurrency: 1 });
  const first = payload();
  const second = payload();
  const outcomes = Promise.all([d.submit(first), d.submit(second)]);
  await r.waitFor(1);
  const answeredAt = Date.now();
  assert.deepEqual((await outcomes).map((o) => o.status), ["sent", "sent"]);
  assert.equal(r.requests.length, 3);
  // The second report queued behind the 429 waits too: the server asked the client, not one report.
  for (const later of r.requests.slice(1)) assert.ok(later.at - answeredAt >= 2000 - 1, `request after ${later.at - answeredAt} ms`);
});

test("a 400 is not retried: failed, dropped and counted as bad-request", async (t) => {
  const r = await receiver(t, { script: () => ({ status: 400, body: '{"error":"bad"}' }) });
  const spool = spoolIn(t);
  const d = delivery(t, { url: r.url, spool });
  const sent = payload();
  const outcome = await d.submit(sent);
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.status === "failed" && outcome.httpStatus, 400);
  assert.equal(outcome.status === "failed" && outcome.spooled, false);
  assert.equal(await d.flush(1000), true);
  assert.equal(r.requests.length, 1);
  assert.deepEqual(d.counters().dropped, { "bad-request": 1 });
  assert.equal((await spool.list()).length, 0);
});

test("a 401 stops sending to the endpoint and keeps every report in the spool, with one debug message", async (t) => {
  const r = await receiver(t, { script: () => ({ status: 401 }) });
  const spool = spoolIn(t);
  const messages: string[] = [];
  const d = delivery(t, { url: r.url, spool, debug: (m) => messages.push(m) });
  const reports = [payload(), payload(), payload()];
  const first = await d.submit(reports[0]!);
  assert.equal(first.status === "failed" && first.spooled, true);
  assert.equal(first.status === "failed" && first.httpStatus, 401);
  const rest = await Promise.all(reports.slice(1).map((p) => d.submit(p)));
  assert.deepEqual(rest.map((o) => o.status === "failed" && o.spooled), [true, true]);
  await d.replay();
  assert.equal(await d.flush(1000), true);
  assert.equal(r.requests.length, 1, "nothing more is sent after the 401");
  assert.deepEqual((await spool.list()).map((e) => e.uuid).sort(), reports.map((p) => p.uuid).sort());
  assert.equal(messages.filter((m) => /401/.test(m)).length, 1);
  assert.equal(d.counters().spooled, 3);
});

test("a server that accepts and never answers: each try ends at the deadline, then the report is spooled", async (t) => {
  let tries = 0;
  const r = await receiver(t, { script: () => ((tries += 1), { hang: true }) });
  const spool = spoolIn(t);
  // The failure schedules a replay probe as short as the retries' delay (10 ms here), which would claim the record (a
  // claimed record is listed by no one) and try it again: once the last try has reached the server, the delivery's
  // timers are held, so that the spool is read as the failure left it.
  const held = (callback: () => void, ms: number): unknown => (tries >= 2 ? setTimeout(() => undefined, 60_000).unref() : setTimeout(callback, ms));
  const d = delivery(t, { url: r.url, spool, timeoutMs: 200, retry: { ...fastRetry, maxAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 10 }, setTimeout: held });
  const sent = payload();
  const outcome = await d.submit(sent);
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.status === "failed" && outcome.reason, "retries-exhausted");
  assert.match(outcome.status === "failed" ? (outcome.detail ?? "") : "", /timed out/);
  assert.equal(outcome.status === "failed" && outcome.spooled, true);
  assert.equal(r.requests.length, 2);
  assert.deepEqual((await spool.list()).map((e) => e.uuid), [sent.uuid]);
});

test("a connection reset in the middle of the body is retried and the report arrives once", async (t) => {
  const r = await receiver(t, { script: (i) => (i === 0 ? { destroyMidBody: true } : undefined) });
  const d = delivery(t, { url: r.url });
  const sent = payload({ annotations: { blob: "z".repeat(2_000_000) } });
  const outcome = await d.submit(sent);
  assert.equal(outcome.status, "sent");
  assert.equal(r.requests.filter((q) => q.body.length > 0).length, 1);
  assert.deepEqual(uuidsOf(r).filter(Boolean), [sent.uuid]);
  assert.equal(d.counters().retried, 1);
  allValid(r);
});

test("down then up: every report sent while the server was down arrives once it is up", async (t) => {
  // Down, then a receiver on the same port: one the system hands to no one meanwhile.
  const port = await reservedPort();
  const url = `http://127.0.0.1:${port}/post?format=json&token=t0k3n`;
  const spool = spoolIn(t);
  const d = delivery(t, { url, spool, retry: { baseDelayMs: 20, maxDelayMs: 150, maxAttempts: 2 } });
  const reports = Array.from({ length: 5 }, () => payload());
  const outcomes = await Promise.all(reports.map((p) => d.submit(p)));
  assert.deepEqual(outcomes.map((o) => o.status === "failed" && o.spooled), [true, true, true, true, true]);
  const r = await receiver(t, { port });
  await r.waitFor(5, 10_000);
  assert.deepEqual(uuidsOf(r).sort(), reports.map((p) => p.uuid).sort());
  allValid(r);
  await d.flush(5000);
  assert.equal((await spool.list()).length, 0, "each record deleted after its 200");
  assert.equal(d.counters().replayed, 5);
});

test("a success after failures replays the spool, oldest first, with the same uuids", async (t) => {
  const r = await receiver(t, { script: (i) => (i === 0 ? { status: 503 } : undefined) });
  const spool = spoolIn(t);
  // Left by an earlier run.
  const earlier = [payload(), payload()];
  for (const p of earlier) spool.writeSync(p);
  // No probe timer within the test: only the success can start the replay.
  const d = delivery(t, { url: r.url, spool, concurrency: 1, retry: { maxAttempts: 1, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
  const failed = payload();
  assert.equal((await d.submit(failed)).status, "failed");
  const ok = payload();
  assert.equal((await d.submit(ok)).status, "sent");
  assert.equal(await d.flush(5000), true);
  assert.deepEqual(uuidsOf(r), [failed.uuid, ok.uuid, earlier[0]!.uuid, earlier[1]!.uuid, failed.uuid]);
  assert.equal((await spool.list()).length, 0);
  assert.equal(d.counters().replayed, 3);
});

test("replay() sends spooled records oldest first and sets a corrupt one aside", async (t) => {
  const r = await receiver(t);
  const spool = spoolIn(t);
  const earlier = [payload(), payload(), payload()];
  for (const p of earlier) spool.writeSync(p);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(join(spool.dir, `000000000000001-000001-${randomUUID()}.json`), "{oops");
  const d = delivery(t, { url: r.url, spool, concurrency: 1 });
  await d.replay();
  assert.deepEqual(uuidsOf(r), earlier.map((p) => p.uuid));
  assert.deepEqual(readdirSync(spool.dir).filter((f) => f.endsWith(".json")), []);
  assert.equal(readdirSync(join(spool.dir, "corrupt")).length, 1);
  assert.equal(d.counters().dropped["spool-corrupt"], 1);
});

test("a 413 is resent once with the trimmed body, and dropped when still too large", async (t) => {
  const r = await receiver(t, { script: (i) => (i === 0 || i >= 2 ? { status: 413 } : undefined) });
  const trims: number[] = [];
  const d = delivery(t, {
    url: r.url,
    trim: (json) => {
      trims.push(json.length);
      const body = JSON.parse(json);
      body.annotations = { trimmed: true };
      return JSON.stringify(body);
    },
  });
  const big = payload({ annotations: { blob: "q".repeat(50_000) } });
  assert.equal((await d.submit(big)).status, "sent");
  assert.equal(r.requests.length, 2);
  assert.ok(r.requests[1]!.body.length < 1000);
  assert.equal((r.requests[1]!.report as { uuid: string }).uuid, big.uuid);
  allValid(r);

  const again = await d.submit(payload({ annotations: { blob: "q".repeat(50_000) } }));
  assert.equal(again.status === "failed" && again.reason, "too-large");
  assert.equal(r.requests.length, 4, "one trimmed resend, no more");
  assert.equal(trims.length, 2);
  assert.deepEqual(d.counters().dropped, { "too-large": 1 });
  assert.equal(d.counters().trimmed, 2);
});

test("a burst of 2,000 reports: all arrive over at most `concurrency` connections, memory bounded by the queue", async (t) => {
  const r = await receiver(t);
  const spool = spoolIn(t, { maxRecords: 5000 });
  const d = delivery(t, { url: r.url, spool, concurrency: 4, queueSize: 200 });
  const reports = Array.from({ length: 2000 }, () => payload());
  const outcomes = reports.map((p) => d.submit(p));
  const after = d.counters();
  assert.ok(after.queued + after.inFlight <= 200, `held in memory: ${after.queued + after.inFlight}`);
  assert.equal(await d.flush(45_000), true);
  const settled = await Promise.all(outcomes);
  assert.equal(new Set(uuidsOf(r)).size, 2000, "every report arrived");
  // Open at once, not ever opened: an idle connection closed under a slow (parallel) run is replaced, which is fine.
  assert.ok(r.peakConnections() <= 4, `connections open at once: ${r.peakConnections()}`);
  const counters = d.counters();
  assert.equal(counters.spooled, 1800);
  assert.equal(counters.replayed, 1800);
  assert.equal(counters.sent, 2000);
  assert.deepEqual(counters.dropped, {});
  assert.equal(settled.filter((o) => o.status === "sent").length, 200);
  assert.equal((await spool.list()).length, 0);
});

test("queue overflow without a spool is dropped and counted", async (t) => {
  const r = await receiver(t, { script: () => ({ delayMs: 50 }) });
  const d = delivery(t, { url: r.url, queueSize: 2, concurrency: 1 });
  const outcomes = await Promise.all([payload(), payload(), payload(), payload()].map((p) => d.submit(p)));
  assert.deepEqual(outcomes.map((o) => o.status), ["sent", "sent", "failed", "failed"]);
  assert.deepEqual(d.counters().dropped, { "queue-full": 2 });
});

test("at the process's end, reports in flight or queued with no spool to write them to are counted lost, with the occurrences merged into them", async (t) => {
  const r = await receiver(t, { script: () => ({ hang: true }) });
  const d = delivery(t, { url: r.url, timeoutMs: 60_000, concurrency: 2 });
  const reports = [{ ...payload(), duplicates: 5 }, payload(), { ...payload(), duplicates: 10 }];
  for (const p of reports) void d.submit(p);
  await r.waitFor(2);
  assert.deepEqual([d.counters().inFlight, d.counters().queued], [2, 1], "two in flight, one queued behind them");
  assert.equal(d.spoolPendingSync(), 0, "nothing written: there is no spool");
  assert.deepEqual(d.counters().dropped, { exit: 3 });
  assert.equal(d.counters().mergedLost, 4 + 9, "the occurrences the two merged reports stood for beyond their own");
});

test("at the process's end, reports in flight are written to the spool, and none is counted lost", async (t) => {
  const r = await receiver(t, { script: () => ({ hang: true }) });
  const spool = spoolIn(t);
  const d = delivery(t, { url: r.url, spool, timeoutMs: 60_000 });
  const sent = { ...payload(), duplicates: 3 };
  void d.submit(sent);
  await r.waitFor(1);
  assert.equal(d.spoolPendingSync(), 1);
  assert.deepEqual([d.counters().dropped, d.counters().mergedLost], [{}, 0]);
  assert.deepEqual((await spool.list()).map((e) => e.uuid), [sent.uuid]);
});

test("flush answers false at its deadline; close spools what is pending", async (t) => {
  const r = await receiver(t, { script: () => ({ hang: true }) });
  const spool = spoolIn(t);
  const d = delivery(t, { url: r.url, spool, timeoutMs: 60_000 });
  const sent = payload();
  const outcome = d.submit(sent);
  assert.equal(await d.flush(100), false);
  await d.close();
  const result = await outcome;
  assert.equal(result.status === "failed" && result.reason, "closed");
  assert.equal(result.status === "failed" && result.spooled, true);
  assert.deepEqual((await spool.list()).map((e) => e.uuid), [sent.uuid]);
});

test("retry timers do not keep the process alive", async () => {
  const port = await reservedPort();
  const source = new URL("../../src/deliver/delivery.ts", import.meta.url).href;
  const script = `
    import { createDelivery } from ${JSON.stringify(source)};
    const d = createDelivery({ url: "http://127.0.0.1:${port}/post", timeoutMs: 2000, ignoreSslCertificate: false,
      spool: undefined, retry: { baseDelayMs: 600000, maxDelayMs: 600000 } });
    d.submit({ uuid: "u", json: { pieces: ["{}"], bytes: 2 }, attachments: [] }).then(() => console.log("settled"));
    setTimeout(() => console.log("app done"), 50);
  `;
  const { code, signal, stdout } = await runNode(["--import", "tsx", "--input-type=module", "-e", script], {}, 15_000);
  assert.equal(signal, null, "the process had to be killed: a timer kept it alive");
  assert.equal(code, 0);
  // The app finished while the report was waiting out a ten-minute backoff.
  assert.equal(stdout.trim(), "app done");
});

test("at-least-once: an answer lost to the deadline means the same report, same uuid, is sent again", async (t) => {
  // The first answer never comes (it is lost past the deadline); the deadline leaves the resend room on a loaded
  // machine, where a 200 ms one could pass under the resend too and make a third request.
  const r = await receiver(t, { script: (i) => (i === 0 ? { hang: true } : undefined) });
  const d = delivery(t, { url: r.url, timeoutMs: 1500 });
  const sent = payload();
  assert.equal((await d.submit(sent)).status, "sent");
  assert.deepEqual(uuidsOf(r), [sent.uuid, sent.uuid]);
  assert.equal(r.requests[0]!.body.toString(), r.requests[1]!.body.toString());
});

test("concurrency is capped at 8 connections whatever is asked", async (t) => {
  const r = await receiver(t, { script: () => ({ delayMs: 30 }) });
  const d = delivery(t, { url: r.url, concurrency: 50 });
  const outcomes = await Promise.all(Array.from({ length: 60 }, () => d.submit(payload())));
  assert.equal(outcomes.filter((o) => o.status === "sent").length, 60);
  assert.equal(r.peakConnections(), 8);
  assert.ok(r.connections() <= 8);
});

test("spoolPendingSync at process exit: reports in flight and queued are spooled, and the next run delivers them with the same uuids", async (t) => {
  const slow = await receiver(t, { script: () => ({ hang: true }) });
  const dir = mkdtempSync(join(tmpdir(), "bt-delivery-exit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = [payload(), payload()];
  const rest = [payload(), payload(), payload()];
  const source = (file: string): string => JSON.stringify(new URL(`../../src/${file}`, import.meta.url).href);
  // Two reports reach the server, which holds its answers; three more are queued; then the process exits at once.
  const script = `
    import { createDelivery } from ${source("deliver/delivery.ts")};
    import { createSpool } from ${source("spool/spool.ts")};
    const [first, rest] = JSON.parse(process.env.BT_PAYLOADS);
    const d = createDelivery({ url: process.env.BT_URL, timeoutMs: 60000, ignoreSslCertificate: false,
      spool: createSpool({ dir: process.env.BT_SPOOL }), concurrency: 2 });
    process.on("exit", () => console.log("spooled " + d.spoolPendingSync()));
    for (const p of first) d.submit(p);
    process.stdin.once("data", () => {
      for (const p of rest) d.submit(p);
      process.exit(0);
    });
  `;
  const child = startNode(["--import", "tsx", "--input-type=module", "-e", script], {
    env: { BT_URL: slow.url, BT_SPOOL: dir, BT_PAYLOADS: JSON.stringify([first, rest]) },
    stdin: true,
  });
  const exited = collect(child, 15_000);
  await slow.waitFor(2);
  child.stdin?.end("go\n");
  const { code, stdout, stderr } = await exited;
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "spooled 5");
  assert.deepEqual(uuidsOf(slow).sort(), first.map((p) => p.uuid).sort());

  const r = await receiver(t);
  const spool = createSpool({ dir });
  const d = delivery(t, { url: r.url, spool });
  await d.replay();
  assert.equal(await d.flush(5000), true);
  assert.deepEqual(uuidsOf(r).sort(), [...first, ...rest].map((p) => p.uuid).sort());
  assert.deepEqual(r.requests.map((q) => q.body.toString()).sort(), [...first, ...rest].map((p) => jsonText(p.json)).sort());
  allValid(r);
  assert.equal((await spool.list()).length, 0);
  assert.equal(d.counters().replayed, 5);
});

test("spoolPendingSync without a spool writes nothing and returns 0", async (t) => {
  const r = await receiver(t, { script: () => ({ hang: true }) });
  const d = delivery(t, { url: r.url, timeoutMs: 60_000 });
  void d.submit(payload());
  assert.equal(d.spoolPendingSync(), 0);
  assert.equal(d.counters().spooled, 0);
});

test("processes sharing one spool folder replay each record once", async (t) => {
  const r = await receiver(t, { script: () => ({ delayMs: 5 }) });
  const spool = spoolIn(t);
  const records = Array.from({ length: 40 }, () => payload());
  for (const p of records) spool.writeSync(p);
  const delivery = new URL("../../src/deliver/delivery.ts", import.meta.url).href;
  const spoolModule = new URL("../../src/spool/spool.ts", import.meta.url).href;
  const script = `
    import { createDelivery } from ${JSON.stringify(delivery)};
    import { createSpool } from ${JSON.stringify(spoolModule)};
    const d = createDelivery({ url: ${JSON.stringify(r.url)}, timeoutMs: 5000, ignoreSslCertificate: false,
      spool: createSpool({ dir: ${JSON.stringify(spool.dir)} }), concurrency: 2 });
    const awake = setInterval(() => undefined, 1000); // delivery's own handles never keep a process up
    await d.replay();
    clearInterval(awake);
    console.log(JSON.stringify(d.counters()));
  `;
  const runs = Array.from({ length: 4 }, async () => {
    const { code, stdout } = await collect(startNode(["--import", "tsx", "--input-type=module", "-e", script]));
    return { code, replayed: stdout ? (JSON.parse(stdout) as { replayed: number }).replayed : -1 };
  });
  const results = await Promise.all(runs);
  assert.deepEqual(results.map((x) => x.code), [0, 0, 0, 0]);
  assert.equal(results.reduce((sum, x) => sum + x.replayed, 0), records.length, "the processes replayed 40 records between them");
  assert.deepEqual([...uuidsOf(r)].sort(), records.map((p) => p.uuid).sort(), "each record arrived once");
  assert.deepEqual(readdirSync(spool.dir).filter((f) => f.endsWith(".json") || f.startsWith(".claim-")), []);
});
