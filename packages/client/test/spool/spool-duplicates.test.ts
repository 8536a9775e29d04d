import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { parseRecord, recordText } from "../../src/spool/spool-files.js";
import { postReport } from "../../src/transport/post.js";
import { jsonBody } from "../../src/payload.js";
import { reportJson, startReceiver } from "../helpers/http-receiver.js";

test("a spooled record keeps its duplicate count, and the record sent again carries _mod_duplicate on its URL", async () => {
  const uuid = randomUUID();
  const record = parseRecord(recordText({ uuid, json: jsonBody(reportJson(uuid)), attachments: [], duplicates: 7 }));
  assert.equal(record?.duplicates, 7);
  assert.equal(parseRecord(recordText({ uuid, json: jsonBody(reportJson(uuid)), attachments: [] }))?.duplicates, undefined);
  const receiver = await startReceiver();
  try {
    const result = await postReport(`${receiver.url}?format=json&token=a%2Bb`, record!, { timeoutMs: 2000, ignoreSslCertificate: false });
    assert.equal(result.kind, "response");
    assert.match(receiver.requests[0]!.url, /\?format=json&token=a%2Bb&_mod_duplicate=7$/);
  } finally {
    await receiver.close();
  }
});
