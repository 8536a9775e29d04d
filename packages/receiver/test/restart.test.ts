import { test } from "node:test";
import assert from "node:assert/strict";
import { getJson, multipart, pythonBody, send, startTemp, submitUrl, tempDir } from "./helpers.js";

test("keeps reports, groups and attachments across a restart on the same database file", async () => {
  const dir = tempDir();
  const body = pythonBody();
  const first = await startTemp({}, dir);
  const form = multipart([
    { name: "upload_file", filename: "upload_file", data: JSON.stringify(body) },
    { name: "attachment_notes.txt", filename: "notes.txt", contentType: "application/octet-stream", data: "kept" },
  ]);
  const reply = await send(submitUrl(first.url), form.body, { headers: { "content-type": form.contentType } });
  assert.equal(reply.status, 200, reply.text);
  const later = await send(`${submitUrl(first.url)}&object=${reply.json._rxid}&attachment_name=later.txt`, "later");
  assert.equal(later.status, 200, later.text);
  await first.receiver.close();

  const second = await startTemp({}, dir);
  try {
    assert.equal(second.db, first.db);
    const { report, attachments } = await getJson(`${second.url}/api/reports/${reply.json._rxid}`);
    assert.deepEqual(report.body, body);
    assert.deepEqual(
      attachments.map((a: any) => a.name),
      ["notes.txt", "later.txt"],
    );
    assert.equal((await send(`${second.url}${attachments[0].url}`)).text, "kept");
    const groups = await getJson(`${second.url}/api/groups`);
    assert.equal(groups.total, 1);
    assert.equal(groups.groups[0].count, 1);
    // The uuid index survives too: a resend after the restart is not stored again.
    const again = await send(submitUrl(second.url), JSON.stringify(body));
    assert.equal(again.json._rxid, reply.json._rxid);
    assert.equal((await getJson(`${second.url}/api/groups`)).groups[0].count, 1);
  } finally {
    await second.receiver.close();
  }
});

test("keeps every report answered 200 in a burst of concurrent submissions across a restart", async () => {
  const dir = tempDir();
  const first = await startTemp({}, dir);
  const bodies = Array.from({ length: 100 }, () => pythonBody());
  const replies = await Promise.all(bodies.map((body) => send(submitUrl(first.url), JSON.stringify(body))));
  assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
  await first.receiver.close();

  const second = await startTemp({}, dir);
  try {
    for (const [i, body] of bodies.entries()) {
      const { report } = await getJson(`${second.url}/api/reports/${body.uuid}`);
      assert.equal(report.rxid, replies[i]!.json._rxid);
    }
    assert.equal((await getJson(`${second.url}/api/groups`)).groups[0].count, 100);
  } finally {
    await second.receiver.close();
  }
});

test("migrates a database written by the previous receiver, regrouping its reports and keeping attachments", async () => {
  const dir = tempDir();
  const { default: Database } = await import("better-sqlite3");
  const { join } = await import("node:path");
  // The version-1 tables as the previous receiver created them.
  const old = new Database(join(dir, "reports.sqlite"));
  old.exec(`CREATE TABLE reports (id INTEGER PRIMARY KEY, rxid TEXT NOT NULL UNIQUE, uuid TEXT NOT NULL UNIQUE, received_at INTEGER NOT NULL,
    group_id TEXT NOT NULL, classifier TEXT NOT NULL, error_type TEXT, message TEXT, application TEXT, hostname TEXT, flags TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX reports_group ON reports (group_id, id);
    CREATE TABLE groups (id TEXT PRIMARY KEY, classifier TEXT NOT NULL, top_frame TEXT NOT NULL, count INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);
    CREATE TABLE attachments (id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL REFERENCES reports (id), name TEXT NOT NULL, content_type TEXT NOT NULL,
      size INTEGER NOT NULL, received_at INTEGER NOT NULL, data BLOB NOT NULL);`);
  const bodies = ["/tmp/a", "/tmp/b"].map((root) => {
    const body = pythonBody();
    body["threads"][body["mainThread"]].stack = [{ funcName: "divide", line: 3, library: `${root}/calc.py` }];
    return body;
  });
  bodies.forEach((body, i) => {
    old.prepare("INSERT INTO reports VALUES (?, ?, ?, ?, ?, 'ZeroDivisionError', NULL, NULL, NULL, NULL, '[]', ?)").run(i + 1, `rx-${i}`, body.uuid, 1700000000000 + i, `old-${i}`, JSON.stringify(body));
  });
  old.prepare("INSERT INTO attachments VALUES (1, 2, 'notes.txt', 'text/plain', 4, 1700000000001, ?)").run(Buffer.from("kept"));
  old.close();

  const t = await startTemp({}, dir);
  try {
    const groups = await getJson(`${t.url}/api/groups`);
    assert.equal(groups.total, 1, "two folders, one group");
    assert.equal(groups.groups[0].count, 2);
    const { report, attachments } = await getJson(`${t.url}/api/reports/rx-1`);
    assert.deepEqual(report.body, bodies[1]);
    assert.equal((await send(`${t.url}${attachments[0].url}`)).text, "kept");
    assert.equal((await getJson(`${t.url}/api/reports?q=division`)).total, 2);
  } finally {
    await t.receiver.close();
  }
});
