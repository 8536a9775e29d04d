// The breadcrumb ring and the bt-breadcrumbs-0 attachment: bounds, order, redaction, counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BreadcrumbStore, mergeBreadcrumbs } from "../../src/capture/breadcrumbs.js";
import { breadcrumbPart, BREADCRUMBS_ATTACHMENT } from "../../src/assemble/attachments.js";

const limits = { maxEntries: 3, maxMessageLength: 10, maxAttributeDepth: 2, maxBreadcrumbBytes: 400 };

test("the ring keeps the newest entries in order and counts the overwritten", () => {
  const store = new BreadcrumbStore(limits);
  for (let i = 0; i < 5; i++) store.add(`m${i}`);
  assert.deepEqual(store.entries().map((c) => c.message), ["m2", "m3", "m4"]);
  assert.equal(store.overwritten, 2);
});

test("messages are cut, attributes limited in depth, oversized entries rejected and counted", () => {
  const store = new BreadcrumbStore(limits);
  store.add("a message longer than ten", { level: "error", type: "user", attributes: { a: { b: { c: 1 } }, f: () => 1, n: 10n } });
  store.add("big", { attributes: { blob: "x".repeat(39) , more: Array.from({ length: 50 }, (_, i) => `item ${i}`) } });
  store.add("odd", { level: "loud" as never, type: "weird" as never });
  const [first, second] = store.entries();
  assert.equal(first?.message, "a message ");
  assert.deepEqual([first?.level, first?.type], ["error", "user"]);
  assert.deepEqual(first?.attributes, { a: { b: "[Object]" }, n: "10" });
  assert.deepEqual([second?.message, second?.level, second?.type], ["odd", "info", "manual"]);
  assert.equal(store.rejected, 1);
});

test("stores merge by id and keep the newest max", () => {
  const a = new BreadcrumbStore({ ...limits, maxEntries: 10 });
  const b = new BreadcrumbStore({ ...limits, maxEntries: 10 });
  a.add("a1");
  b.add("b1");
  a.add("a2");
  b.add("b2");
  const merged = mergeBreadcrumbs([a, b], 3);
  assert.deepEqual(merged.entries.map((c) => c.message), ["b1", "a2", "b2"]);
  assert.equal(merged.dropped, 1);
});

test("the attachment is Backtrace's JSON array, redacted, and cut from the oldest to its byte cap", () => {
  const store = new BreadcrumbStore({ ...limits, maxEntries: 10, maxMessageLength: 200 });
  store.add("GET http://h/x?token=abcdef123", { type: "http", attributes: { password: "hunter22", url: "http://u:pw@h/" } });
  for (let i = 0; i < 5; i++) store.add(`entry ${i}`);
  const count = { values: 0 };
  const whole = breadcrumbPart({ entries: store.entries(), dropped: 0 }, 64 * 1024, count);
  assert.equal(whole.attachment?.name, BREADCRUMBS_ATTACHMENT);
  const crumbs = JSON.parse(String(whole.attachment?.data)) as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(crumbs[0]!), ["id", "message", "timestamp", "type", "level", "attributes"]);
  assert.ok(!JSON.stringify(crumbs).includes("abcdef123") && !JSON.stringify(crumbs).includes("hunter22"));
  assert.ok(count.values >= 2);
  assert.equal(whole.lastId, crumbs[crumbs.length - 1]!["id"]);
  const cut = breadcrumbPart({ entries: store.entries(), dropped: 1 }, 200, { values: 0 });
  const kept = JSON.parse(String(cut.attachment?.data)) as unknown[];
  assert.ok(Buffer.byteLength(String(cut.attachment?.data)) <= 200);
  assert.equal(cut.dropped, 1 + 6 - kept.length);
  assert.equal(breadcrumbPart({ entries: [], dropped: 0 }, 100, { values: 0 }).attachment, undefined);
});
