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

test("the journal's text of a record: breadcrumbs as keys of parts made once per entry, restored as the report had them; an entry changed since gets a part of its own", () => {
  const store = new BreadcrumbStore({ maxEntries: 10, maxMessageLength: 200, maxAttributeDepth: 2, maxBreadcrumbBytes: 4096 });
  store.add("first ✓", { attributes: { user: 7, path: "/orders" } });
  store.add("second");
  const made = (): BacktraceReport => {
    const report = new BacktraceReport().setException(Object.assign(new Error("boom"), { code: "E_X" })).setAttribute("a", 1);
    report.breadcrumbs = { entries: store.entries(), dropped: 3 };
    return report;
  };
  /** The journal's line and parts for a report, as recovery reads them back. */
  const written = (report: BacktraceReport) => {
    const json = journalRecordJson(report);
    const line = JSON.parse(captureLine(report.uuid, () => json)) as { u: string; r: Record<string, unknown> & { b: { entries: unknown[] } } };
    const parts = new Map(json.parts.map((part) => [part.key, JSON.parse(part.json) as unknown]));
    return { line, parts, keys: json.parts.map((part) => part.key) };
  };
  const sender = { send: () => Promise.reject(new Error("not sent")) } as never;
  const first = made();
  const one = written(first);
  // Everything but the breadcrumbs is the record's own; the breadcrumbs are keys, in order.
  const { b: _b, ...withoutB } = JSON.parse(JSON.stringify(journalRecord(first))) as Record<string, unknown>;
  const { b: keys, ...rest } = one.line.r;
  assert.deepEqual(rest, withoutB);
  assert.deepEqual(keys, { entries: one.keys, dropped: 3 });
  assert.deepEqual(restoreReport(first.uuid, one.line.r, sender, one.parts)?.breadcrumbs, first.breadcrumbs);
  // A second report with the same entries refers to the same parts.
  assert.deepEqual(written(made()).keys, one.keys);

  const entries = store.entries();
  entries[1]!.message = "changed by hand";
  store.add("third");
  const later = made();
  const two = written(later);
  assert.equal(two.keys[0], one.keys[0], "an entry unchanged keeps its part");
  assert.notEqual(two.keys[1], one.keys[1], "an entry changed since has a part of its own");
  assert.deepEqual(restoreReport(later.uuid, two.line.r, sender, two.parts)?.breadcrumbs?.entries.map((c) => c.message), ["first ✓", "changed by hand", "third"]);
  // A part not read back (its commit did not verify) is counted dropped; the rest come back.
  const partial = new Map(two.parts);
  partial.delete(two.keys[1]!);
  assert.deepEqual(restoreReport(later.uuid, two.line.r, sender, partial)?.breadcrumbs, { entries: [later.breadcrumbs!.entries[0], later.breadcrumbs!.entries[2]], dropped: 4 });
  // Lines of earlier versions hold the entries themselves.
  assert.deepEqual(restoreReport(later.uuid, JSON.parse(JSON.stringify(journalRecord(later))) as unknown, sender)?.breadcrumbs, later.breadcrumbs);
  // Without breadcrumbs, the text is the record's.
  const plain = new BacktraceReport().setException(new Error("x"));
  assert.deepEqual(written(plain).line.r, JSON.parse(JSON.stringify(journalRecord(plain))));
});
