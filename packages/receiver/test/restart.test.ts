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
