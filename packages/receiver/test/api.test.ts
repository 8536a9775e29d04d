import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { getJson, multipart, nodeBody, pythonBody, send, startTemp, submitUrl, type TempReceiver } from "./helpers.js";

let t: TempReceiver;
const post = async (body: Record<string, unknown>): Promise<string> => {
  const reply = await send(submitUrl(t.url), JSON.stringify(body));
  assert.equal(reply.status, 200, reply.text);
  return reply.json._rxid;
};

function withFrames(lines: number[], funcs = ["readConfig", "start", "main"]): Record<string, any> {
  const body = nodeBody();
  body["threads"].main.stack = funcs.map((funcName, i) => ({ funcName, library: `/srv/app/${funcName}.js`, line: lines[i], column: 1 }));
  return body;
}

before(async () => {
  t = await startTemp();
});
after(() => t.receiver.close());

describe("grouping", () => {
  test("puts reports with the same classifier and top three frames in one group, whatever their lines", async () => {
    await post(withFrames([1, 2, 3], ["g1", "g2", "g3", "g4"]));
    await post(withFrames([10, 20, 30], ["g1", "g2", "g3", "other"]));
    await post(withFrames([1, 2, 3], ["g1", "g2", "different"]));
    await post({ ...withFrames([1, 2, 3], ["g1", "g2", "g3"]), classifiers: ["RangeError"] });
    const { groups } = await getJson(`${t.url}/api/groups?limit=500`);
    const g1 = groups.filter((g: any) => g.topFrame === "g1 (g1.js:1)" || g.topFrame === "g1 (g1.js:10)");
    assert.deepEqual(g1.map((g: any) => [g.classifier, g.count]).sort(), [
      ["Error", 1],
      ["Error", 2],
      ["RangeError", 1],
    ]);
  });
});

describe("_mod_duplicate", () => {
  test("stores the occurrence count a merged report stands for, and group counts sum occurrences", async () => {
    const funcs = ["dup1", "dup2", "dup3"];
    const merged = withFrames([1, 2, 3], funcs);
    const reply = await send(`${submitUrl(t.url)}&_mod_duplicate=5`, JSON.stringify(merged));
    assert.equal(reply.status, 200, reply.text);
    await post(withFrames([4, 5, 6], funcs));
    const { report } = await getJson(`${t.url}/api/reports/${merged.uuid}`);
    assert.equal(report.occurrences, 5);
    assert.equal(report.body.attributes["_mod_duplicate"], undefined);
    const { groups } = await getJson(`${t.url}/api/groups?limit=500`);
    assert.equal(groups.find((g: any) => g.id === report.groupId).count, 6);
    const filtered = await getJson(`${t.url}/api/groups?attr=hostname:node-host&q=config`);
    assert.equal(filtered.groups.find((g: any) => g.id === report.groupId).count, 6);
  });

  test("answers 400 to a count that is not a whole number of at least 1", async () => {
    for (const value of ["0", "-1", "2.5", "x", ""]) {
      const reply = await send(`${submitUrl(t.url)}&_mod_duplicate=${value}`, JSON.stringify(nodeBody()));
      assert.equal(reply.status, 400, value);
      assert.match(reply.json.message, /_mod_duplicate/);
    }
  });
});

describe("JSON API", () => {
  test("filters reports by attribute, by several attributes and by text, newest first, with paging", async () => {
    const python = pythonBody();
    await post(python);
    const nodes = [nodeBody(), nodeBody({ attributes: { ...nodeBody().attributes, hostname: "other-host", flag: true, level: 3 } })];
    for (const body of nodes) await post(body);

    const byType = await getJson(`${t.url}/api/reports?attr=${encodeURIComponent("error.type:Unhandled exception")}`);
    assert.deepEqual(byType.reports.map((r: any) => r.uuid), [python.uuid]);

    const byHost = await getJson(`${t.url}/api/reports?attr=application:node-app&attr=hostname:other-host`);
    assert.deepEqual(byHost.reports.map((r: any) => r.uuid), [nodes[1]!.uuid]);

    const byOtherAttributes = await getJson(`${t.url}/api/reports?attr=flag:true&attr=level:3`);
    assert.deepEqual(byOtherAttributes.reports.map((r: any) => r.uuid), [nodes[1]!.uuid]);

    const byText = await getJson(`${t.url}/api/reports?q=${encodeURIComponent("DIVISION BY")}`);
    assert.deepEqual(byText.reports.map((r: any) => r.uuid), [python.uuid]);

    const likeIsLiteral = await getJson(`${t.url}/api/reports?q=${encodeURIComponent("%_")}`);
    assert.equal(likeIsLiteral.total, 0);

    const all = await getJson(`${t.url}/api/reports?limit=2`);
    assert.equal(all.limit, 2);
    assert.equal(all.reports.length, 2);
    assert.equal(all.reports[0].uuid, nodes[1]!.uuid);
    const next = await getJson(`${t.url}/api/reports?limit=2&offset=1`);
    assert.equal(next.reports[0].uuid, nodes[0]!.uuid);
    assert.equal(next.total, all.total);
  });

  test("lists the reports of one group", async () => {
    const body = withFrames([5, 6, 7], ["only", "this", "group"]);
    const rxid = await post(body);
    const { report } = await getJson(`${t.url}/api/reports/${rxid}`);
    const list = await getJson(`${t.url}/api/reports?group=${report.groupId}`);
    assert.deepEqual(list.reports.map((r: any) => r.rxid), [rxid]);
  });

  test("answers 400 to a malformed filter and 404 to an unknown report", async () => {
    const bad = await send(`${t.url}/api/reports?attr=nocolon`);
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /key:value/);
    assert.equal((await send(`${t.url}/api/reports?limit=abc`)).status, 400);
    assert.equal((await send(`${t.url}/api/reports/00000000-0000-0000-0000-000000000000`)).status, 404);
  });

  test("serves attachments as downloads with a content type that is never HTML", async () => {
    const body = nodeBody();
    const form = multipart([
      { name: "upload_file", filename: "upload_file.json", contentType: "application/json", data: JSON.stringify(body) },
      { name: "attachment_page.html", filename: "page.html", contentType: "text/html", data: "<script>alert(1)</script>" },
      { name: 'attachment_we"ird\\name.svg', filename: "x.svg", contentType: "image/svg+xml", data: "<svg/>" },
    ]);
    const reply = await send(submitUrl(t.url), form.body, { headers: { "content-type": form.contentType } });
    assert.equal(reply.status, 200, reply.text);
    const { attachments } = await getJson(`${t.url}/api/reports/${body.uuid}`);
    for (const attachment of attachments) {
      const download = await send(`${t.url}${attachment.url}`);
      assert.equal(download.headers["content-type"], "application/octet-stream");
      assert.equal(download.headers["x-content-type-options"], "nosniff");
      assert.match(String(download.headers["content-disposition"]), /^attachment; filename="[^"\\]*"; filename\*=UTF-8''/);
    }
    assert.equal((await send(`${t.url}/attachments/999999`)).status, 404);
    assert.equal((await send(`${t.url}/attachments/abc`)).status, 404);
  });
});
