import { test } from "node:test";
import assert from "node:assert/strict";
import { REDACTED, redact, redactString, type RedactionCount } from "../../src/assemble/redact.js";
import { BacktraceClient } from "../../src/index.js";
import { toSafeJson } from "../../src/serialize/safe-json.js";
import { startReceiver } from "../helpers/http-receiver.js";

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

test("auth schemes are redacted in any case, and a lowercase basic before a plain word is kept", () => {
  assert.equal(redactString("authorization: bearer abcdefgh12345678"), `authorization: bearer ${REDACTED}`);
  assert.equal(redactString("BEARER abcdefgh12345678"), `BEARER ${REDACTED}`);
  assert.equal(redactString("basic dXNlcjpwYXNzd29yZA=="), `basic ${REDACTED}`);
  assert.equal(redactString("a basic understanding of it"), "a basic understanding of it");
});

test("URL passwords are redacted up to the last @ before the host, with or without a user", () => {
  assert.equal(redactString("connect redis://:SuperSecretPw@cache:6379 failed"), `connect redis://:${REDACTED}@cache:6379 failed`);
  assert.equal(redactString("postgres://user:p@ssw0rd123@db/x"), `postgres://user:${REDACTED}@db/x`);
  assert.equal(redactString("see https://example.test:8443/a?mail=me@example.test"), "see https://example.test:8443/a?mail=me@example.test");
});

test("secret parameters are redacted in queries, form bodies, cookies and presigned URLs", () => {
  const form = "grant_type=refresh_token&refresh_token=rt-123456&client_id=app&client_secret=cs-999";
  assert.equal(redactString(form), `grant_type=refresh_token&refresh_token=${REDACTED}&client_id=app&client_secret=${REDACTED}`);
  assert.equal(redactString("password=hunter2&user=ann"), `password=${REDACTED}&user=ann`);
  assert.equal(redactString("lang=en; id_token=abc.def; theme=dark"), `lang=en; id_token=${REDACTED}; theme=dark`);
  assert.equal(redactString("login failed passwd=hunter2 for ann"), `login failed passwd=${REDACTED} for ann`);
  const presigned =
    "https://bucket.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request" +
    "&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLE&X-Amz-Signature=0123abcd&sig=zz&apiKey=k1";
  assert.equal(
    redactString(presigned),
    "https://bucket.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
      `&X-Amz-Credential=${REDACTED}&X-Amz-Security-Token=${REDACTED}&X-Amz-Signature=${REDACTED}&sig=${REDACTED}&apiKey=${REDACTED}`,
  );
  // Names that merely contain the letters are kept.
  assert.equal(redactString("?keyboard=us&keyword=rust&author=ann&bypass=1&signal=9"), "?keyboard=us&keyword=rust&author=ann&bypass=1&signal=9");
});

test("a Map's [key, value] pairs are redacted like object fields", () => {
  const count: RedactionCount = { values: 0 };
  const out = redact(toSafeJson(new Map<string, unknown>([["password", "x"], ["keyboard", "us"], ["author", "ann"], ["token", null]])), count);
  assert.deepEqual(out, [["password", REDACTED], ["keyboard", "us"], ["author", "ann"], ["token", null]]);
  assert.equal(count.values, 1);
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
