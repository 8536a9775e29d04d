import { test } from "node:test";
import assert from "node:assert/strict";
import { REDACTED, redact, redactString, type RedactionCount } from "../src/redact.js";
import { BacktraceClient } from "../src/index.js";
import { startReceiver } from "./helpers/http-receiver.js";

test("values under secret-looking keys are redacted at any depth, and counted", () => {
  const count: RedactionCount = { values: 0 };
  const out = redact(
    { user: "ann", password: "hunter2", nested: { apiKey: "k-123", list: [{ Authorization: "x" }], author: "kept", bypass: "kept" } },
    count,
  );
  assert.deepEqual(out, { user: "ann", password: REDACTED, nested: { apiKey: REDACTED, list: [{ Authorization: REDACTED }], author: "kept", bypass: "kept" } });
  assert.equal(count.values, 3);
});

test("secret-shaped parts of strings are redacted: bearer tokens, JWTs, URL credentials", () => {
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl";
  assert.equal(redactString("Authorization: Bearer abcdefgh12345678"), `Authorization: Bearer ${REDACTED}`);
  assert.equal(redactString(`token is ${jwt} here`), `token is ${REDACTED} here`);
  assert.equal(redactString("GET https://api.test/v1?user=1&access_token=s3cr3t&x=2"), `GET https://api.test/v1?user=1&access_token=${REDACTED}&x=2`);
  assert.equal(redactString("postgres://app:pa55word@db.internal/shop"), `postgres://app:${REDACTED}@db.internal/shop`);
  assert.equal(redactString("nothing secret in here at all"), "nothing secret in here at all");
});

test("a report's attributes, annotations, log and exception are redacted before they leave", async () => {
  const receiver = await startReceiver();
  try {
    // No source context: this file's own text holds the secrets the test looks for.
    const client = new BacktraceClient({
      endpoint: `http://127.0.0.1:${receiver.port}`, token: "t", disableGlobalHandler: true, spool: false, collectSourceCode: false,
    });
    const report = client.createReport();
    report.setException(new Error("call failed with Bearer abcdefgh12345678"));
    report.setAttribute("db.password", "hunter2").setAttribute("region", "eu");
    report.setAnnotation("request", { headers: { cookie: "sid=abc", accept: "json" } });
    report.log("retrying https://api.test/?api_key=zzz999");
    await report.send();
    const body = receiver.requests[0]!.report as { attributes: Record<string, unknown>; annotations: Record<string, any> };
    const text = receiver.requests[0]!.body.toString();
    for (const secret of ["hunter2", "abcdefgh12345678", "sid=abc", "zzz999"]) assert.equal(text.includes(secret), false, secret);
    assert.equal(body.attributes["db.password"], REDACTED);
    assert.equal(body.attributes["region"], "eu");
    assert.equal(body.attributes["error.message"], `call failed with Bearer ${REDACTED}`);
    assert.equal(body.annotations["request"].headers.accept, "json");
    assert.ok(body.annotations["backtrace-ts"].redactedValues >= 4);
    assert.deepEqual(receiver.requests[0]!.validation?.errors, []);
    await client.finalize();
  } finally {
    await receiver.close();
  }
});
