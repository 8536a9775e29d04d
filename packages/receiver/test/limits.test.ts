import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { nodeBody, send, startTemp, submitUrl, type TempReceiver } from "./helpers.js";

const maxBody = 64 * 1024;

/** Sends headers and `firstBytes` of a body, never ends it, and resolves with the status the server answers with. */
function statusWithoutFinishing(url: string, headers: Record<string, string>, firstBytes: Buffer | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    // Once the server has answered it closes the connection; a write error after that is expected.
    req.on("error", reject);
    if (firstBytes) req.write(firstBytes);
    else req.flushHeaders();
  });
}

describe("limits and tokens", () => {
  let t: TempReceiver;
  before(async () => {
    t = await startTemp({ maxBody, token: "right-token" });
  });
  after(() => t.receiver.close());

  test("answers 413 to a declared Content-Length over the limit without reading the body", async () => {
    const reply = await statusWithoutFinishing(submitUrl(t.url, "right-token"), { "content-length": String(maxBody + 1) }, undefined);
    assert.equal(reply.status, 413);
    assert.match(JSON.parse(reply.text).message, /65536-byte limit/);
  });

  test("answers 413 to a chunked body once it passes the limit", async () => {
    const reply = await statusWithoutFinishing(submitUrl(t.url, "right-token"), { "content-type": "application/json" }, Buffer.alloc(maxBody + 1, 32));
    assert.equal(reply.status, 413);
  });

  test("answers 413 to an oversized multipart body", async () => {
    const reply = await statusWithoutFinishing(
      submitUrl(t.url, "right-token"),
      { "content-type": "multipart/form-data; boundary=xyz" },
      Buffer.concat([Buffer.from('--xyz\r\nContent-Disposition: form-data; name="upload_file"; filename="upload_file"\r\n\r\n'), Buffer.alloc(maxBody, 32)]),
    );
    assert.equal(reply.status, 413);
  });

  test("answers 413 before the upload when the client sends Expect: 100-continue", async () => {
    const reply = await statusWithoutFinishing(submitUrl(t.url, "right-token"), { "content-length": String(maxBody * 2), expect: "100-continue" }, undefined);
    assert.equal(reply.status, 413);
  });

  test("still accepts a body just under the limit", async () => {
    const body = nodeBody({ annotations: { padding: "x".repeat(maxBody - 2000) } });
    const reply = await send(submitUrl(t.url, "right-token"), JSON.stringify(body));
    assert.equal(reply.status, 200, reply.text);
  });

  test("answers 403 to a wrong or missing token when --token is set, in every URL form", async () => {
    const body = JSON.stringify(nodeBody());
    for (const url of [submitUrl(t.url, "wrong"), `${t.url}/api/post?format=json`, `${t.url}/universe/wrong/json`]) {
      const reply = await send(url, body);
      assert.equal(reply.status, 403, url);
      assert.equal(reply.json.response, "error");
    }
    assert.equal((await send(`${t.url}/universe/right-token/json`, body)).status, 200);
  });

  test("does not show the any-token banner when a token is required", async () => {
    const page = await send(`${t.url}/`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /Any token is accepted/);
  });
});

describe("without --token", () => {
  test("accepts any token, or none, and the viewer says so", async () => {
    const t = await startTemp();
    try {
      assert.equal((await send(`${t.url}/post?format=json`, JSON.stringify(nodeBody()))).status, 200);
      assert.equal((await send(submitUrl(t.url, "anything"), JSON.stringify(nodeBody()))).status, 200);
      assert.match((await send(`${t.url}/`)).text, /Any token is accepted/);
    } finally {
      await t.receiver.close();
    }
  });
});
