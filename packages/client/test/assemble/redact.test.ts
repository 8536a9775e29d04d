import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REDACTED, redact, redactSourceLine, redactString, type RedactionCount } from "../../src/assemble/redact.js";
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

test("under secret-looking keys only strings are replaced: numbers, booleans and null keep their type", () => {
  const count: RedactionCount = { values: 0 };
  const out = redact({ token: { count: 3, value: "t-1" }, has_password: false, cookie: { enabled: true, jar: ["a", 1] }, password: "x", secret: null }, count);
  assert.deepEqual(out, { token: { count: 3, value: REDACTED }, has_password: false, cookie: { enabled: true, jar: [REDACTED, 1] }, password: REDACTED, secret: null });
  assert.equal(count.values, 3);
});

test("JSON text inside a string has its secret fields redacted, other fields and non-string values kept", () => {
  assert.equal(
    redactString('request failed: {"user":"ann","password":"x","api_key":"k-1","token_count":2,"nested":{"secret":"s p a c e"}}'),
    `request failed: {"user":"ann","password":"${REDACTED}","api_key":"${REDACTED}","token_count":2,"nested":{"secret":"${REDACTED}"}}`,
  );
  assert.equal(redactString('{"Authorization": "Bearer abcdefgh12345678"}'), `{"Authorization": "${REDACTED}"}`);
});

test("name: value and name= after a quote, paren or comma are redacted", () => {
  assert.equal(redactString("login with password: hunter2 failed"), `login with password: ${REDACTED} failed`);
  assert.equal(redactString("db: { password: 'hunter2', user: 'ann' }"), `db: { password: '${REDACTED}', user: 'ann' }`);
  assert.equal(redactString('opts "password=hunter2" (token=abcdef) a,secret=zzz'), `opts "password=${REDACTED}" (token=${REDACTED}) a,secret=${REDACTED}`);
  // A secret word that does not end the name is not a name-value pair.
  assert.equal(redactString("TokenExpiredError: jwt expired"), "TokenExpiredError: jwt expired");
  assert.equal(redactString("at handler (/app/token.js:10:5)"), "at handler (/app/token.js:10:5)");
});

test("cookies are redacted: Set-Cookie headers, session, sid and connect.sid", () => {
  assert.equal(redactString("Set-Cookie: session=abc123; Path=/; HttpOnly"), `Set-Cookie: ${REDACTED}; Path=/; HttpOnly`);
  assert.equal(redactString("sent sid=abc123 and connect.sid=s%3Axyz.sig"), `sent sid=${REDACTED} and connect.sid=${REDACTED}`);
  assert.equal(redactString("lang=en; JSESSIONID=abc123; theme=dark"), `lang=en; JSESSIONID=${REDACTED}; theme=dark`);
  assert.deepEqual(redact({ sid: "abc", "connect.sid": "s:1", session: "kept-name" }), { sid: REDACTED, "connect.sid": REDACTED, session: "kept-name" });
});

test("AWS access key ids and secret access keys are redacted", () => {
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  assert.equal(redactString(`aws_secret_access_key = ${secret}`), `aws_secret_access_key = ${REDACTED}`);
  assert.equal(redactString(`AWS_SECRET_ACCESS_KEY: "${secret}"`), `AWS_SECRET_ACCESS_KEY: "${REDACTED}"`);
  assert.equal(redactString("using key AKIAIOSFODNN7EXAMPLE now"), `using key ${REDACTED} now`);
  assert.equal(
    redactString("Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5f"),
    // The key id goes; the scope after it (date, region, service) is not secret.
    `Authorization: AWS4-HMAC-SHA256 Credential=${REDACTED}/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${REDACTED}`,
  );
});

test("a two-element array whose first string is prose mentioning a secret word keeps its second element", () => {
  assert.deepEqual(redact(["password reset requested", "bob@x"]), ["password reset requested", "bob@x"]);
  assert.deepEqual(redact([["password", "x"]]), [["password", REDACTED]]);
});

test("source lines: secret shapes replaced in place, every line kept", () => {
  const pw = ["Super", "Secret99"].join("");
  const stripe = ["sk", "live", "4eC39HqLyjWDarjtT1zdp7dc"].join("_");
  const lines = [
    `const db = "postgres://app:${pw}@db/shop";`,
    `const stripe = "${stripe}";`,
    "headers.authorization = `Bearer abcdefgh12345678`;",
    "function login(password: string) { return password; }",
  ];
  const out = lines.map(redactSourceLine);
  assert.deepEqual(out, [
    `const db = "postgres://app:${REDACTED}@db/shop";`,
    `const stripe = "${REDACTED}";`,
    `headers.authorization = \`Bearer ${REDACTED}\`;`,
    "function login(password: string) { return password; }",
  ]);
});

test("a report's source context holds no secret shapes and keeps its line numbers", async () => {
  const receiver = await startReceiver();
  const dir = mkdtempSync(join(tmpdir(), "bt-redact-source-"));
  const pw = ["Super", "Secret99"].join("");
  const stripe = ["sk", "test", "4eC39HqLyjWDarjtT1zdp7dc"].join("_");
  const file = join(dir, "config.mjs");
  const text = [
    "// configuration with secrets written in",
    `export const url = "postgres://app:${pw}@db:5432/shop";`,
    `export const key = "${stripe}";`,
    "export function fail() {",
    '  throw new Error("config failed");',
    "}",
  ].join("\n");
  writeFileSync(file, text);
  try {
    const client = new BacktraceClient({ endpoint: `http://127.0.0.1:${receiver.port}`, token: "t", disableGlobalHandler: true, spool: false, contextLineCount: 10 });
    const module = (await import(pathToFileURL(file).href)) as { fail: () => never };
    let thrown: unknown;
    try {
      module.fail();
    } catch (error) {
      thrown = error;
    }
    assert.equal((await client.sendException(thrown)).status, "sent");
    const raw = receiver.requests[0]!.body.toString();
    assert.equal(raw.includes(pw), false, "URL password left the process");
    assert.equal(raw.includes(stripe), false, "sk_test_ key left the process");
    const body = receiver.requests[0]!.report as {
      sourceCode: Record<string, { text: string; startLine: number; path: string }>;
      threads: Record<string, { stack: Array<{ sourceCode?: string; line?: number }> }>;
      mainThread: string;
    };
    const top = body.threads[body.mainThread]!.stack[0]!;
    const entry = body.sourceCode[top.sourceCode!]!;
    const sent = entry.text.split("\n");
    assert.equal(entry.startLine, 1);
    assert.equal(sent.length, text.split("\n").length, "same number of lines");
    assert.equal(sent[top.line! - entry.startLine], '  throw new Error("config failed");', "the frame's line is still the throwing line");
    assert.equal(sent[1], `export const url = "postgres://app:${REDACTED}@db:5432/shop";`);
    assert.equal(sent[2], `export const key = "${REDACTED}";`);
    await client.finalize();
  } finally {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("secret-keyed numbers and booleans arrive with their type", async () => {
  const receiver = await startReceiver();
  try {
    const client = new BacktraceClient({ endpoint: `http://127.0.0.1:${receiver.port}`, token: "t", disableGlobalHandler: true, spool: false, collectSourceCode: false });
    const report = client.createReport();
    report.setAttribute("token.count", 3).setAttribute("has_password", false).setAttribute("cookie.enabled", true).setAttribute("api_key", "k-1");
    report.setAnnotation("session_id", { length: 32, value: "abc" });
    await report.send();
    const body = receiver.requests[0]!.report as { attributes: Record<string, unknown>; annotations: Record<string, any> };
    assert.equal(body.attributes["token.count"], 3);
    assert.equal(body.attributes["has_password"], false);
    assert.equal(body.attributes["cookie.enabled"], true);
    assert.equal(body.attributes["api_key"], REDACTED);
    assert.deepEqual(body.annotations["session_id"], { length: 32, value: REDACTED });
    assert.deepEqual(receiver.requests[0]!.validation?.errors, []);
    await client.finalize();
  } finally {
    await receiver.close();
  }
});
