// A report's journal record: attributes, annotations and an error's own fields as toSafeJson makes them, an empty one too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { journalRecord, journalRecordJson, restoreReport } from "../../src/assemble/journal-record.js";
import { BreadcrumbStore } from "../../src/capture/breadcrumbs.js";
import { captureLine } from "../../src/spool/journal-format.js";
import { BacktraceReport } from "../../src/capture/report.js";
import { toSafeJson } from "../../src/serialize/safe-json.js";

test("empty attributes, annotations and error fields are {} as toSafeJson gives them; filled ones are made JSON-safe", () => {
  const empty = new BacktraceReport().setException(new Error("plain"));
  const record = journalRecord(empty);
  assert.deepEqual([record.a, record.n, record.e?.extra], [{}, {}, {}]);
  assert.deepEqual(record.a, toSafeJson(empty.layeredAttributes()));

  const error = Object.assign(new Error("full"), { code: "E_FULL", when: new Date(0), [Symbol("hidden")]: 1 });
  const full = new BacktraceReport().setException(error).setAttribute("n", 1).setAttribute("big", 10n as never).setAnnotation("nested", { deep: [1, { x: undefined }] });
  const made = journalRecord(full);
  assert.deepEqual(made.a, { n: 1, big: "10" });
  assert.deepEqual(made.n, { nested: { deep: [1, {}] } });
  assert.deepEqual(made.e?.extra, { code: "E_FULL", when: "1970-01-01T00:00:00.000Z" });
  // Only symbol keys: left out, as JSON leaves them out.
  const symbols = new BacktraceReport().setException(Object.assign(new Error("s"), { [Symbol("only")]: 1 }));
  assert.deepEqual(journalRecord(symbols).e?.extra, {});
});

test("the classifier, the thread a report is about and its extra threads come back from the journal (a fatal error's report, a worker out of memory)", () => {
  const report = new BacktraceReport().setException(new Error("Allocation failed - JavaScript heap out of memory"), "Crash");
  report.classifier = "OutOfMemory";
  report.thread = { id: "main", name: "main" };
  report.extraThreads = { "main-native": { name: "main (native)", fault: false, stack: [{ funcName: "node::OOMErrorHandler", native: true, library: "node" }] } };
  const line = JSON.parse(JSON.stringify(journalRecord(report))) as unknown;
  const back = restoreReport(report.uuid, line, { send: () => Promise.reject(new Error("not sent")) } as never)!;
  assert.equal(back.classifier, "OutOfMemory");
  assert.deepEqual(back.thread, { id: "main", name: "main" });
  assert.deepEqual(back.extraThreads, report.extraThreads);
  // A report with none of them gets none back.
  const plain = restoreReport("u", JSON.parse(JSON.stringify(journalRecord(new BacktraceReport().setException(new Error("x"))))) as unknown, {} as never)!;
  assert.deepEqual([plain.classifier, plain.thread, plain.extraThreads], [undefined, undefined, undefined]);
});

test("the journal's text of a record is the record: breadcrumbs made once per entry, an entry changed since written as it is now", () => {
  const store = new BreadcrumbStore({ maxEntries: 10, maxMessageLength: 200, maxAttributeDepth: 2, maxBreadcrumbBytes: 4096 });
  store.add("first ✓", { attributes: { user: 7, path: "/orders" } });
  store.add("second");
  const made = (): BacktraceReport => {
    const report = new BacktraceReport().setException(Object.assign(new Error("boom"), { code: "E_X" })).setAttribute("a", 1);
    report.breadcrumbs = { entries: store.entries(), dropped: 3 };
    return report;
  };
  /** The line as JSON.stringify of the record object makes it, parsed. */
  const expected = (report: BacktraceReport): unknown => JSON.parse(JSON.stringify({ u: report.uuid, r: journalRecord(report) }));
  const line = (report: BacktraceReport): unknown => JSON.parse(captureLine(report.uuid, () => journalRecordJson(report)));
  for (let i = 0; i < 2; i++) {
    const report = made();
    assert.deepEqual(line(report), expected(report));
  }
  const entries = store.entries();
  entries[0]!.attributes = { user: 8 };
  entries[1]!.message = "changed by hand";
  store.add("third");
  const later = made();
  const back = line(later) as { r: { b: { entries: Array<{ message: string }>; dropped: number } } };
  assert.deepEqual(back, expected(later));
  assert.deepEqual(back.r.b.entries.map((c) => c.message), ["first ✓", "changed by hand", "third"]);
  const restored = restoreReport(later.uuid, back.r, { send: () => Promise.reject(new Error("not sent")) } as never)!;
  assert.deepEqual(restored.breadcrumbs, later.breadcrumbs);
  // Without breadcrumbs, the text is the record's.
  const plain = new BacktraceReport().setException(new Error("x"));
  assert.deepEqual(line(plain), expected(plain));
});
