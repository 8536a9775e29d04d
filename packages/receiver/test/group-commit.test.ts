import { test } from "node:test";
import assert from "node:assert/strict";
import { createGroupCommit } from "../src/group-commit.js";
import type { InsertResult, NewReport } from "../src/store.js";

function report(uuid: string): NewReport {
  const summary = {
    uuid, classifier: "Error", kind: "error" as const, errorType: undefined, message: undefined, application: undefined, version: undefined,
    hostname: undefined, environment: undefined, route: undefined, attributes: "{}", searchText: "", groupId: "g", topFrame: "f",
  };
  return { summary, body: "{}", flags: [], attachments: [], receivedAt: 0 };
}

/** A store double that records its calls; `failing` uuids make any transaction holding them throw. */
function fakeStore(failing = new Set<string>()) {
  const calls: string[][] = [];
  const insert = (r: NewReport): InsertResult => {
    if (failing.has(r.summary.uuid)) throw new Error(`cannot store ${r.summary.uuid}`);
    return { rxid: `rx-${r.summary.uuid}`, duplicate: false };
  };
  return {
    calls,
    insertReport(r: NewReport) {
      calls.push([r.summary.uuid]);
      return insert(r);
    },
    insertReports(rs: NewReport[]) {
      calls.push(rs.map((r) => r.summary.uuid));
      return rs.map(insert);
    },
  };
}

test("reports queued in the same turn share one transaction and each caller gets its own result", async () => {
  const store = fakeStore();
  const commit = createGroupCommit(store);
  const results = await Promise.all(["a", "b", "c"].map((uuid) => commit.insert(report(uuid))));
  assert.deepEqual(store.calls, [["a", "b", "c"]]);
  assert.deepEqual(
    results.map((r) => r.rxid),
    ["rx-a", "rx-b", "rx-c"],
  );
  await commit.insert(report("d"));
  assert.deepEqual(store.calls, [["a", "b", "c"], ["d"]]);
});

test("nothing resolves before the transaction has run", async () => {
  const scheduled: Array<() => void> = [];
  const store = fakeStore();
  const commit = createGroupCommit(store, (run) => scheduled.push(run));
  let done = false;
  const pending = commit.insert(report("a")).then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(done, false);
  assert.deepEqual(store.calls, []);
  scheduled.forEach((run) => run());
  await pending;
  assert.equal(done, true);
});

test("a failing batch is retried one report at a time, so only the bad report's caller sees the error", async () => {
  const store = fakeStore(new Set(["bad"]));
  const commit = createGroupCommit(store);
  const outcomes = await Promise.allSettled(["a", "bad", "c"].map((uuid) => commit.insert(report(uuid))));
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ["fulfilled", "rejected", "fulfilled"],
  );
  assert.deepEqual(store.calls, [["a", "bad", "c"], ["a"], ["bad"], ["c"]]);
});

test("flush commits the queue at once", () => {
  const store = fakeStore();
  const commit = createGroupCommit(store, () => {});
  void commit.insert(report("a"));
  commit.flush();
  assert.deepEqual(store.calls, [["a"]]);
});
