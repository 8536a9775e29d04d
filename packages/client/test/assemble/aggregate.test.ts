import { test } from "node:test";
import assert from "node:assert/strict";
import { BacktraceClient, BacktraceReport, type BacktraceOptions } from "../../src/index.js";
import { normaliseMessage } from "../../src/capture/fingerprint.js";
import { withReceiver, type Receiver } from "../helpers/http-receiver.js";

function clientFor(receiver: Receiver, options: Partial<BacktraceOptions> = {}): BacktraceClient {
  return new BacktraceClient({ endpoint: `http://127.0.0.1:${receiver.port}`, token: "t0k3n", disableGlobalHandler: true, spool: false, ...options });
}

const duplicateCount = (url: string): number => Number(new URL(url, "http://x").searchParams.get("_mod_duplicate") ?? 1);

function notFound(id: number): Error {
  return new Error(`user ${id} not found (request 0x${(0xdeadbeef00 + id).toString(16)})`);
}

function otherPlace(): Error {
  return new Error("user 1 not found");
}

test("duplicates sent in one burst arrive as one report whose _mod_duplicate counts every occurrence", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const outcomes = [];
    for (let i = 0; i < 25; i++) outcomes.push(client.sendException(notFound(i)));
    const settled = await Promise.all(outcomes);
    await client.finalize();
    assert.equal(receiver.requests.length, 1);
    const [request] = receiver.requests;
    assert.deepEqual(request!.validation?.errors, []);
    assert.equal(duplicateCount(request!.url), 25);
    assert.match(request!.url, /token=t0k3n/, "the rest of the query is kept");
    const attributes = (request!.report as { attributes: Record<string, unknown> }).attributes;
    assert.equal(typeof attributes["duplicate.first"], "number");
    assert.ok((attributes["duplicate.last"] as number) >= (attributes["duplicate.first"] as number));
    assert.ok(settled.every((o) => o.status === "sent" && o.uuid === settled[0]!.uuid), "every occurrence settles with the report that carries it");
    const counters = client.counters();
    assert.equal(counters.captured, 25);
    assert.equal(counters.merged, 24);
    assert.equal(counters.sent, 1);
  }));

test("a report standing for one occurrence carries no _mod_duplicate and no duplicate attributes", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    await client.sendException(notFound(1));
    await client.finalize();
    assert.equal(receiver.requests.length, 1);
    assert.doesNotMatch(receiver.requests[0]!.url, /_mod_duplicate/);
    assert.equal("duplicate.first" in (receiver.requests[0]!.report as { attributes: object }).attributes, false);
  }));

test("a different message, stack, type or scope is never merged", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    const sends = [
      client.sendException(notFound(1)),
      client.sendException(new Error("order 1 not found")),
      client.sendException(otherPlace()),
      client.sendException(Object.assign(notFound(2), { name: "TypeError" })),
      client.withScope(() => client.sendException(notFound(3))),
      client.withScope(() => client.sendException(notFound(4))),
      client.sendReport("a message"),
    ];
    await Promise.all(sends);
    await client.finalize();
    assert.equal(receiver.requests.length, sends.length);
    for (const request of receiver.requests) assert.doesNotMatch(request.url, /_mod_duplicate/);
    assert.equal(client.counters().merged, 0);
  }));

test("reports with their own attributes, attachments or error fields, or under beforeSend, are not merged", () =>
  withReceiver(async (receiver) => {
    const client = clientFor(receiver);
    await Promise.all([
      client.sendException(notFound(1), { attributes: { order: 1 } }),
      client.sendException(notFound(1), { attributes: { order: 2 } }),
      client.sendException(Object.assign(notFound(1), { details: { a: 1 } })),
      client.sendException(Object.assign(notFound(1), { details: { a: 2 } })),
    ]);
    await client.finalize();
    assert.equal(receiver.requests.length, 4);
    const guarded = clientFor(receiver, { beforeSend: (report) => report });
    await Promise.all([guarded.sendException(notFound(1)), guarded.sendException(notFound(1))]);
    await guarded.finalize();
    const off = clientFor(receiver, { aggregateDuplicates: false });
    await Promise.all([off.sendException(notFound(1)), off.sendException(notFound(1))]);
    await off.finalize();
    assert.equal(receiver.requests.length, 8);
    assert.equal(guarded.counters().merged + off.counters().merged, 0);
  }));

test("numbers, hex ids and uuids in messages are normalised", () => {
  assert.equal(normaliseMessage("user 123 not found"), normaliseMessage("user 456 not found"));
  assert.equal(normaliseMessage("took 1.5 ms for 0xdeadbeef12"), normaliseMessage("took 22.25 ms for 0xfeedface99"));
  assert.equal(normaliseMessage("job 2f1e7a9c-1b2d-4e5f-8a9b-0c1d2e3f4a5b failed"), normaliseMessage("job 9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b failed"));
  assert.notEqual(normaliseMessage("user 1 not found"), normaliseMessage("order 1 not found"));
});

test("occurrences merged into a report that is lost are counted as lost with it", () =>
  withReceiver(
    async (receiver) => {
      const client = clientFor(receiver);
      const settled = await Promise.all([0, 1, 2, 3].map((i) => client.sendException(notFound(i))));
      await client.finalize();
      assert.ok(settled.every((o) => o.status === "failed" && o.reason === "bad-request"));
      const counters = client.counters();
      assert.equal(counters.merged, 3);
      assert.equal(counters.mergedLost, 3);
      assert.equal(counters.dropped["bad-request"], 1);
    },
    { script: () => ({ status: 400 }) },
  ));

test("the window: duplicates thrown now and then within it merge (not only those of one burst); with 0 each is built at once", () =>
  withReceiver(async (receiver) => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    const windowed = clientFor(receiver, { aggregateWindow: 10 });
    const sends = [];
    // Every throw after an await: the same stack each time (the first, before one, has the test runner's frames below).
    await pause();
    for (let i = 0; i < 20; i++) {
      sends.push(windowed.sendException(notFound(i)));
      await pause();
    }
    assert.equal(receiver.requests.length, 0, "nothing built while the window is open");
    assert.equal(await windowed.flush(5), true, "flush does not wait out the window");
    await Promise.all(sends);
    assert.equal(receiver.requests.length, 1, JSON.stringify(receiver.requests.map((r) => [duplicateCount(r.url), (r.report as { attributes: Record<string, unknown> }).attributes["error.message"]])));
    assert.equal(duplicateCount(receiver.requests[0]!.url), 20);
    await windowed.finalize();

    const atOnce = clientFor(receiver, { aggregateWindow: 0 });
    for (let i = 0; i < 20; i++) {
      // Each settles before the next: nothing is waiting for a duplicate to merge into.
      await atOnce.sendException(notFound(i));
      await pause();
    }
    await atOnce.finalize();
    assert.equal(receiver.requests.length, 1 + 20);
    assert.equal(atOnce.counters().merged, 0);
  }));

test("a bad aggregateWindow fails at initialize", () => {
  for (const aggregateWindow of [-1, 61, Number.NaN, "0.1"]) {
    assert.throws(() => new BacktraceClient({ endpoint: "http://127.0.0.1:1", aggregateWindow } as unknown as BacktraceOptions), { name: "BacktraceConfigError" });
  }
});

test("occurrences merged into one report share its one settlement; those of a lost report are counted lost, not those of the next", () =>
  withReceiver(
    async (receiver) => {
      const client = clientFor(receiver);
      const first = [0, 1, 2, 3].map((i) => client.sendException(notFound(i)));
      assert.equal(new Set(first.slice(1)).size, 1, "the merged occurrences hold one promise between them");
      assert.notEqual(first[0], first[1]);
      const lostOnes = await Promise.all(first);
      assert.ok(lostOnes.every((o) => o.status === "failed" && o.uuid === lostOnes[0]!.uuid));
      const second = [4, 5, 6].map((i) => client.sendException(notFound(i)));
      const sentOnes = await Promise.all(second);
      await client.finalize();
      assert.ok(sentOnes.every((o) => o.status === "sent" && o.uuid === sentOnes[0]!.uuid));
      assert.notEqual(sentOnes[0]!.uuid, lostOnes[0]!.uuid);
      const counters = client.counters();
      assert.equal(counters.merged, 5);
      assert.equal(counters.mergedLost, 3);
    },
    { script: (n: number) => (n === 0 ? { status: 400 } : { status: 200 }) },
  ));

test("a report object sent again (its first sending's uuid) takes no duplicates: those thrown meanwhile make a report of their own", () =>
  withReceiver(
    async (receiver) => {
      const client = clientFor(receiver);
      const errors = [0, 1, 2, 3].map((i) => notFound(i)); // one place: duplicates
      const report = new BacktraceReport(client).setException(errors[0]);
      const first = [client.send(report), client.sendException(errors[1])];
      const sent = await Promise.all(first);
      assert.ok(sent.every((o) => o.status === "sent" && o.uuid === report.uuid), JSON.stringify(sent));
      const again = await Promise.all([client.send(report), client.sendException(errors[2]), client.sendException(errors[3])]);
      await client.finalize();
      // A server keeps one report per uuid: what was merged into the second sending would have been dropped with it.
      assert.equal(again[0]!.uuid, report.uuid);
      assert.notEqual(again[1]!.uuid, report.uuid, "the duplicates thrown meanwhile are not merged into the report sent again");
      assert.equal(again[2]!.uuid, again[1]!.uuid, "they merge with each other");
      assert.equal(receiver.requests.length, 3);
      const fresh = receiver.requests.find((r) => (r.report as { uuid: string }).uuid === again[1]!.uuid);
      assert.equal(duplicateCount(fresh!.url), 2);
      assert.ok(again.every((o) => o.status === "failed"), JSON.stringify(again));
      const counters = client.counters();
      assert.equal(counters.merged, 2);
      assert.equal(counters.mergedLost, 1, "the one merged into the rejected fresh report");
    },
    { script: (n: number) => (n === 0 ? { status: 200 } : { status: 400 }) },
  ));
