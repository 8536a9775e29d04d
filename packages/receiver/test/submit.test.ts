import { Agent } from "node:http";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { getJson, multipart, nodeBody, pythonBody, send, startTemp, submitUrl, type TempReceiver } from "./helpers.js";

let t: TempReceiver;
before(async () => {
  t = await startTemp();
});
after(() => t.receiver.close());

async function stored(uuid: string): Promise<any> {
  return getJson(`${t.url}/api/reports/${uuid}`);
}

function assertOk(reply: { status: number; json: any; text: string }): string {
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.response, "ok");
  assert.equal(typeof reply.json._rxid, "string");
  return reply.json._rxid as string;
}

describe("submissions", () => {
  test("stores a raw JSON body and answers with an rxid", async () => {
    const body = nodeBody();
    const rxid = assertOk(await send(submitUrl(t.url), JSON.stringify(body), { headers: { "content-type": "application/json" } }));
    const { report, attachments } = await stored(body.uuid);
    assert.equal(report.rxid, rxid);
    assert.equal(report.uuid, body.uuid);
    assert.deepEqual(report.body, body);
    assert.equal(report.classifier, "Error");
    assert.equal(report.errorType, "Exception");
    assert.deepEqual(attachments, []);
  });

  test("stores a chunked raw JSON body sent without Content-Length, as @backtrace/node does", async () => {
    const body = nodeBody();
    const rxid = assertOk(await send(submitUrl(t.url), JSON.stringify(body), { chunked: 100, headers: { "content-type": "application/json" } }));
    assert.equal((await stored(body.uuid)).report.rxid, rxid);
  });

  test("stores a backtracepython multipart: upload_file part with no content type, octet-stream attachments", async () => {
    const body = pythonBody();
    const form = multipart([
      { name: "upload_file", filename: "upload_file", data: JSON.stringify(body) },
      { name: "attachment_app.log", filename: "/var/log/app.log", contentType: "application/octet-stream", data: "line 1\nline 2\n" },
      { name: "attachment_core.bin", filename: "core.bin", contentType: "application/octet-stream", data: Buffer.from([0, 1, 2, 255]) },
    ]);
    assertOk(await send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } }));
    const { report, attachments } = await stored(body.uuid);
    assert.equal(report.classifier, "ZeroDivisionError");
    assert.deepEqual(
      attachments.map((a: any) => [a.name, a.contentType, a.size]),
      [
        ["app.log", "application/octet-stream", 14],
        ["core.bin", "application/octet-stream", 4],
      ],
    );
    const download = await send(`${t.url}${attachments[0].url}`);
    assert.equal(download.text, "line 1\nline 2\n");
  });

  test("stores an @backtrace/node multipart: upload_file.json as application/json, a text/plain attachment", async () => {
    const body = nodeBody();
    const form = multipart([
      { name: "upload_file", filename: "upload_file.json", contentType: "application/json", data: JSON.stringify(body) },
      { name: "attachment_x.txt", filename: "x.txt", contentType: "text/plain", data: "attached text" },
    ]);
    const rxid = assertOk(await send(`${t.url}/api/post?format=json&token=abc`, form.body, { headers: { "content-type": form.contentType } }));
    const { report, attachments } = await stored(body.uuid);
    assert.equal(report.rxid, rxid);
    assert.equal(attachments.length, 1);
    assert.equal(attachments[0].name, "x.txt");
    assert.equal(attachments[0].contentType, "text/plain");
    const download = await send(`${t.url}${attachments[0].url}`);
    assert.equal(download.text, "attached text");
    assert.match(String(download.headers["content-disposition"]), /^attachment; filename="x.txt"/);
  });

  test("accepts upload_file as a plain field and turns other fields into attributes the body lacks", async () => {
    const body = nodeBody();
    const form = multipart([
      { name: "upload_file", data: JSON.stringify(body) },
      { name: "version", data: "1.0" },
      { name: "hostname", data: "not-this-one" },
    ]);
    assertOk(await send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } }));
    const { report } = await stored(body.uuid);
    assert.equal(report.body.attributes.version, "1.0");
    assert.equal(report.body.attributes.hostname, "node-host");
  });

  test("accepts the /{universe}/{token}/json form, chunked", async () => {
    const body = nodeBody();
    assertOk(await send(`${t.url}/my-universe/0123abcd/json`, JSON.stringify(body), { chunked: 64 }));
    assert.equal((await stored(body.uuid)).report.uuid, body.uuid);
  });

  test("accepts the listener URL written with a double slash", async () => {
    const body = nodeBody();
    assertOk(await send(`${t.url}//post?format=json&token=x`, JSON.stringify(body)));
  });

  test("adds an attachment posted later with object=<rxid> or object=<uuid> and attachment_name=", async () => {
    const body = nodeBody();
    const rxid = assertOk(await send(submitUrl(t.url), JSON.stringify(body)));
    const byRxid = await send(`${submitUrl(t.url)}&object=${rxid}&attachment_name=${encodeURIComponent("later one.txt")}`, "later bytes", {
      headers: { "content-type": "text/plain" },
    });
    assert.equal(byRxid.status, 200, byRxid.text);
    assert.equal(byRxid.json.response, "ok");
    assert.equal(byRxid.json.object, rxid);
    assert.equal(byRxid.json.attachment_name, "later one.txt");
    const byUuid = await send(`${t.url}/u/tok/json?object=${body.uuid}&attachment_name=b.bin`, Buffer.from([9, 9]), { chunked: 1 });
    assert.equal(byUuid.status, 200, byUuid.text);
    const { attachments } = await stored(rxid);
    assert.deepEqual(
      attachments.map((a: any) => [a.name, a.contentType, a.size]),
      [
        ["later one.txt", "text/plain", 11],
        ["b.bin", "application/octet-stream", 2],
      ],
    );
  });

  test("answers 404 to an attachment for an unknown report", async () => {
    const reply = await send(`${submitUrl(t.url)}&object=no-such-report&attachment_name=a.txt`, "x");
    assert.equal(reply.status, 404);
    assert.equal(reply.json.response, "error");
  });

  test("stores a report whose uuid is already stored only once and answers with the original rxid", async () => {
    const body = nodeBody();
    const first = assertOk(await send(submitUrl(t.url), JSON.stringify(body)));
    const form = multipart([
      { name: "upload_file", filename: "upload_file", data: JSON.stringify({ ...body, classifiers: ["Other"] }) },
      { name: "attachment_a.txt", filename: "a.txt", data: "a" },
    ]);
    const second = assertOk(await send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } }));
    assert.equal(second, first);
    const list = await getJson(`${t.url}/api/reports?q=${body.uuid}`);
    assert.equal(list.total, 1);
    const { report, attachments } = await stored(body.uuid);
    assert.equal(report.classifier, "Error");
    assert.equal(attachments.length, 0);
  });

  test("accepts a null attribute, flags it, and keeps it", async () => {
    const body = nodeBody({ attributes: { ...nodeBody().attributes, "user.id": null } });
    assertOk(await send(submitUrl(t.url), JSON.stringify(body)));
    const { report } = await stored(body.uuid);
    assert.deepEqual(report.flags, ['attribute "user.id" is null']);
    assert.equal(report.body.attributes["user.id"], null);
  });

  test("answers 400 listing the schema errors for an invalid body", async () => {
    const body = nodeBody({ timestamp: 1700000000000, mainThread: "nope" });
    const reply = await send(submitUrl(t.url), JSON.stringify(body));
    assert.equal(reply.status, 400);
    assert.equal(reply.json.response, "error");
    assert.match(reply.json.message, /schema/);
    assert.ok(reply.json.errors.some((e: string) => e.startsWith("/timestamp")), reply.text);
    assert.ok(reply.json.errors.some((e: string) => e.includes('mainThread "nope"')), reply.text);
    assert.equal((await send(`${t.url}/api/reports/${body.uuid}`)).status, 404);
  });

  test("answers 400 for a body that is not JSON, and for an empty body", async () => {
    const bad = await send(submitUrl(t.url), "{not json");
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /not valid JSON/);
    const empty = await send(submitUrl(t.url), "", { headers: { "content-type": "application/json" } });
    assert.equal(empty.status, 400);
    assert.match(empty.json.message, /empty/);
  });

  test("answers 400 with a reason for malformed multipart bodies", async () => {
    const form = multipart([{ name: "upload_file", filename: "upload_file", data: JSON.stringify(nodeBody()) }]);
    const truncated = form.body.subarray(0, form.body.length - 30);
    const cut = await send(submitUrl(t.url), truncated, { headers: { "content-type": form.contentType } });
    assert.equal(cut.status, 400, cut.text);
    assert.match(cut.json.message, /malformed multipart body: Unexpected end of form/);
    const noBoundary = await send(submitUrl(t.url), "whatever", { headers: { "content-type": "multipart/form-data" } });
    assert.equal(noBoundary.status, 400);
    assert.match(noBoundary.json.message, /malformed multipart body/);
    const noReport = multipart([{ name: "attachment_a.txt", filename: "a.txt", data: "a" }]);
    const missing = await send(submitUrl(t.url), noReport.body, { headers: { "content-type": noReport.contentType } });
    assert.equal(missing.status, 400);
    assert.match(missing.json.message, /no upload_file part/);
  });

  test("answers 400 to formats other than json and 404 to unknown paths", async () => {
    const minidump = await send(`${t.url}/post?format=minidump&token=x`, "MDMP");
    assert.equal(minidump.status, 400);
    assert.match(minidump.json.message, /format "minidump"/);
    assert.equal((await send(`${t.url}/nothing/here`, "{}")).status, 404);
    assert.equal((await send(`${t.url}/api/nothing`)).status, 404);
    assert.equal((await send(`${t.url}/post?format=json`)).status, 405);
  });

  test("stores all of 50 concurrent submissions", async () => {
    const bodies = Array.from({ length: 50 }, (_, i) => nodeBody({ attributes: { ...nodeBody().attributes, batch: "concurrent", n: i } }));
    const replies = await Promise.all(
      bodies.map((body, i) => {
        if (i % 2 === 0) return send(submitUrl(t.url), JSON.stringify(body), { chunked: 500 });
        const form = multipart([
          { name: "upload_file", filename: "upload_file", data: JSON.stringify(body) },
          { name: `attachment_${i}.txt`, filename: `${i}.txt`, data: `attachment ${i}` },
        ]);
        return send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } });
      }),
    );
    const rxids = replies.map(assertOk);
    assert.equal(new Set(rxids).size, 50);
    const list = await getJson(`${t.url}/api/reports?attr=batch:concurrent&limit=500`);
    assert.equal(list.total, 50);
    assert.deepEqual(new Set(list.reports.map((r: any) => r.uuid)), new Set(bodies.map((b) => b.uuid)));
    const withAttachment = await stored(bodies[1]!.uuid);
    assert.equal(withAttachment.attachments[0].name, "1.txt");
  });

  test("stores each of 200 concurrent submissions once, and each answer's rxid is its own report's", async () => {
    // Open keep-alive connections first, so that requests written together arrive together and share commits.
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    await Promise.all(Array.from({ length: 20 }, () => send(`${t.url}/api/groups`, undefined, { agent })));
    const bodies = Array.from({ length: 200 }, (_, i) => nodeBody({ attributes: { ...nodeBody().attributes, batch: "burst", n: i } }));
    const replies = await Promise.all(bodies.map((body) => send(submitUrl(t.url), JSON.stringify(body), { agent })));
    agent.destroy();
    const rxids = replies.map(assertOk);
    assert.equal(new Set(rxids).size, 200);
    const list = await getJson(`${t.url}/api/reports?attr=batch:burst&limit=500`);
    assert.equal(list.total, 200);
    const uuidByRxid = new Map(list.reports.map((r: any) => [r.rxid, r.uuid]));
    bodies.forEach((body, i) => assert.equal(uuidByRxid.get(rxids[i]), body.uuid));
  });

  test("stores a uuid sent 10 times at once only once, and every answer names that report", async () => {
    const body = nodeBody({ classifiers: ["SameUuidBurst"] });
    const agent = new Agent({ keepAlive: true, maxSockets: 10 });
    await Promise.all(Array.from({ length: 10 }, () => send(`${t.url}/api/groups`, undefined, { agent })));
    const replies = await Promise.all(Array.from({ length: 10 }, () => send(submitUrl(t.url), JSON.stringify(body), { agent })));
    agent.destroy();
    const rxids = new Set(replies.map(assertOk));
    assert.equal(rxids.size, 1);
    const { report } = await stored(body.uuid);
    assert.ok(rxids.has(report.rxid));
    const groups = await getJson(`${t.url}/api/groups?limit=500`);
    assert.equal(groups.groups.find((g: any) => g.classifier === "SameUuidBurst").count, 1);
  });
});
