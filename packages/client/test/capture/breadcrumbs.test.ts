// The breadcrumb ring and the bt-breadcrumbs-0 attachment: bounds, order, redaction, counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BreadcrumbStore, mergeBreadcrumbs } from "../../src/capture/breadcrumbs.js";
import { breadcrumbPart, BREADCRUMBS_ATTACHMENT } from "../../src/assemble/attachments.js";
import { BacktraceClient, BacktraceReport } from "../../src/index.js";
import { startReceiver } from "../helpers/http-receiver.js";

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

test("reports made from the same entries get the same attachment and redaction count; an entry changed since, or a new one, is sent as it is now", () => {
  const store = new BreadcrumbStore({ ...limits, maxEntries: 10, maxMessageLength: 200 });
  store.add("login with password=hunter22", { attributes: { token: "abc123def", kept: "plain" } });
  store.add("second entry");
  /** The part as a fresh build of the same entries gives it: each entry a new object, so nothing made before is taken. */
  const fresh = (entries: ReturnType<typeof store.entries>, count: { values: number }) =>
    breadcrumbPart({ entries: entries.map((crumb) => ({ ...crumb, ...(crumb.attributes ? { attributes: { ...crumb.attributes } } : {}) })), dropped: 0 }, 64 * 1024, count);
  const counts = [{ values: 0 }, { values: 0 }, { values: 0 }];
  const first = breadcrumbPart({ entries: store.entries(), dropped: 0 }, 64 * 1024, counts[0]!);
  const again = breadcrumbPart({ entries: store.entries(), dropped: 0 }, 64 * 1024, counts[1]!);
  const made = fresh(store.entries(), counts[2]!);
  assert.equal(String(again.attachment?.data), String(made.attachment?.data));
  assert.equal(String(first.attachment?.data), String(made.attachment?.data));
  assert.deepEqual(counts.map((c) => c.values), [2, 2, 2], "the redactions are counted for every report");
  assert.ok(!String(again.attachment?.data).includes("hunter22") && !String(again.attachment?.data).includes("abc123def"));

  // Code holding the report (a beforeSend) changes an entry: the next report sends the entry as it is now.
  const entries = store.entries();
  entries[1]!.message = "changed by hand";
  entries[0]!.attributes = { kept: "other" };
  const changed = breadcrumbPart({ entries, dropped: 0 }, 64 * 1024, { values: 0 });
  assert.equal(String(changed.attachment?.data), String(fresh(entries, { values: 0 }).attachment?.data));
  assert.deepEqual((JSON.parse(String(changed.attachment?.data)) as Array<{ message: string }>).map((c) => c.message), ["login with password=[REDACTED]", "changed by hand"]);

  // A new entry, and a smaller cap: each gives its own part.
  store.add("third entry");
  const grown = breadcrumbPart({ entries: store.entries(), dropped: 0 }, 64 * 1024, { values: 0 });
  assert.deepEqual((JSON.parse(String(grown.attachment?.data)) as Array<{ message: string }>).map((c) => c.message).slice(1), ["changed by hand", "third entry"]);
  const capped = breadcrumbPart({ entries: store.entries(), dropped: 0 }, 100, { values: 0 });
  const cappedFresh = breadcrumbPart({ entries: store.entries().map((crumb) => ({ ...crumb })), dropped: 0 }, 100, { values: 0 });
  assert.equal(String(capped.attachment?.data), String(cappedFresh.attachment?.data));
  assert.equal(capped.dropped, cappedFresh.dropped);
  assert.ok(capped.dropped > 0);
});

test("a beforeSend that removes a value from inside an entry's attributes: the report sent no longer has it, though an earlier report sent it", async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const client = new BacktraceClient({
    endpoint: receiver.url,
    token: "t",
    disableGlobalHandler: true,
    spool: false,
    aggregateDuplicates: false,
    // Reports of EU users have the user's e-mail taken out of every breadcrumb, in place (through the report's
    // internal field, which plain JavaScript reaches).
    beforeSend: (report) => {
      if (report.getAttributes()["region"] === "eu") {
        for (const crumb of (report as unknown as BacktraceReport).breadcrumbs?.entries ?? []) {
          const user = crumb.attributes?.["user"] as Record<string, unknown> | undefined;
          if (user !== undefined) delete user["email"];
          if (crumb.attributes !== undefined) delete crumb.attributes["email"];
        }
      }
      return report;
    },
  });
  t.after(() => client.finalize());
  client.addBreadcrumb("signed in", { attributes: { email: "ann@example.com", user: { id: 7, email: "ann@example.com" } } });
  await client.sendException(new Error("us"), { attributes: { region: "us" } });
  await client.sendException(new Error("eu"), { attributes: { region: "eu" } });
  const crumbsOf = (message: string): string => {
    const request = receiver.requests.find((r) => JSON.stringify(r.report).includes(`"error.message":"${message}"`));
    return request?.parts?.find((p) => p.name === `attachment_${BREADCRUMBS_ATTACHMENT}`)?.data.toString("utf8") ?? "none";
  };
  assert.match(crumbsOf("us"), /ann@example\.com/);
  assert.deepEqual(JSON.parse(crumbsOf("eu")).map((crumb: { attributes?: unknown }) => crumb.attributes), [{ user: { id: 7 } }]);
});
