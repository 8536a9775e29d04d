import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveOptions } from "../src/options.js";
import { submissionUrlFor, redactUrl, urlSecrets } from "../src/submission-url.js";
import { defaults } from "../src/defaults.js";
import { ErrorCodes, isBacktraceError, BacktraceConfigError } from "../src/errors.js";
import { privateCa } from "./helpers/tls.js";

const base = { endpoint: "https://example.test:6098", token: "abc123" };

function throwsCode(options: unknown, code: string, option: string, pattern: RegExp): void {
  assert.throws(
    () => resolveOptions(options),
    (error: unknown) => {
      assert.ok(error instanceof BacktraceConfigError);
      assert.ok(isBacktraceError(error));
      assert.equal(error.code, code);
      assert.equal(error.option, option);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test("fills in the backtracepython defaults, in seconds", () => {
  const resolved = resolveOptions(base);
  assert.equal(resolved.timeout, 4);
  assert.equal(resolved.exitTimeout, 4);
  assert.equal(resolved.contextLineCount, 200);
  assert.equal(resolved.tabWidth, 8);
  assert.equal(resolved.collectSourceCode, true);
  assert.equal(resolved.ignoreSslCertificate, false);
  assert.equal(resolved.debugBacktrace, false);
  assert.equal(resolved.disableGlobalHandler, false);
  assert.deepEqual(resolved.attributes, {});
  assert.deepEqual(resolved.attachments, []);
  assert.equal(resolved.maxReportBytes, defaults.maxReportBytes);
});

test("keeps every option it is given", () => {
  const resolved = resolveOptions({
    ...base, attributes: { a: 1 }, attachments: ["/x.log"], timeout: 2.5, ignoreSslCertificate: true,
    debugBacktrace: true, disableGlobalHandler: true, contextLineCount: 3, tabWidth: 4, collectSourceCode: false, exitTimeout: 0,
  });
  assert.deepEqual(
    [resolved.attributes, resolved.attachments, resolved.timeout, resolved.ignoreSslCertificate, resolved.debugBacktrace,
      resolved.disableGlobalHandler, resolved.contextLineCount, resolved.tabWidth, resolved.collectSourceCode, resolved.exitTimeout],
    [{ a: 1 }, ["/x.log"], 2.5, true, true, true, 3, 4, false, 0],
  );
});

test("a missing or malformed endpoint fails at once with a named code", () => {
  throwsCode({ token: "x" }, ErrorCodes.INVALID_ENDPOINT, "endpoint", /is required/);
  throwsCode({ endpoint: "not a url", token: "x" }, ErrorCodes.INVALID_ENDPOINT, "endpoint", /not a valid URL/);
  throwsCode({ endpoint: "ftp://host", token: "x" }, ErrorCodes.INVALID_ENDPOINT, "endpoint", /http:\/\/ or https:\/\//);
});

test("a token-less non-submit endpoint fails", () => {
  throwsCode({ endpoint: "https://host:6098" }, ErrorCodes.MISSING_TOKEN, "token", /"token" is required/);
});

test("bad numbers, types and unknown names fail with what to fix", () => {
  throwsCode({ ...base, timeout: -1 }, ErrorCodes.INVALID_NUMBER, "timeout", /greater than 0 and at most 2147483, got -1/);
  throwsCode({ ...base, timeout: 3e6 }, ErrorCodes.INVALID_NUMBER, "timeout", /at most 2147483/);
  throwsCode({ ...base, exitTimeout: 3e6 }, ErrorCodes.INVALID_NUMBER, "exitTimeout", /at most 2147483/);
  throwsCode({ ...base, concurrency: 9 }, ErrorCodes.INVALID_NUMBER, "concurrency", /at most 8/);
  throwsCode({ ...base, timeout: "4" }, ErrorCodes.INVALID_NUMBER, "timeout", /got "4"/);
  throwsCode({ ...base, exitTimeout: Number.NaN }, ErrorCodes.INVALID_NUMBER, "exitTimeout", /got NaN/);
  throwsCode({ ...base, contextLineCount: 1.5 }, ErrorCodes.INVALID_NUMBER, "contextLineCount", /integer/);
  throwsCode({ ...base, tabWidth: 0 }, ErrorCodes.INVALID_NUMBER, "tabWidth", /at least 1/);
  throwsCode({ ...base, attributes: [] }, ErrorCodes.INVALID_OPTION, "attributes", /plain object/);
  throwsCode({ ...base, attributes: "a=1" }, ErrorCodes.INVALID_OPTION, "attributes", /plain object/);
  throwsCode({ ...base, attachments: "x.log" }, ErrorCodes.INVALID_OPTION, "attachments", /array of file paths/);
  throwsCode({ ...base, debugBacktrace: "yes" }, ErrorCodes.INVALID_OPTION, "debugBacktrace", /true or false/);
  throwsCode({ ...base, beforeSend: 1 }, ErrorCodes.INVALID_OPTION, "beforeSend", /function/);
  throwsCode({ ...base, token: "" }, ErrorCodes.INVALID_OPTION, "token", /non-empty/);
  throwsCode({ ...base, tab_width: 4 }, ErrorCodes.UNKNOWN_OPTION, "tab_width", /Did you mean "tabWidth"/);
  throwsCode("https://host", ErrorCodes.INVALID_OPTION, "options", /options object/);
});

test("the token never appears in an error message", () => {
  try {
    resolveOptions({ ...base, token: "secret-token", timeout: -5 });
    assert.fail("should throw");
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /secret-token/);
  }
});

test("builds submission URLs by the documented rules", () => {
  const cases: Array<[string, string | undefined, string]> = [
    ["https://submit.backtrace.io/uni/tok/json", undefined, "https://submit.backtrace.io/uni/tok/json"],
    ["https://submit.backtrace.io/uni/tok/json", "other", "https://submit.backtrace.io/uni/tok/json"],
    ["https://host:6098", "t", "https://host:6098/post?format=json&token=t"],
    ["https://host:6098/", "t", "https://host:6098/post?format=json&token=t"],
    ["https://host:6098/api", "t", "https://host:6098/api/post?format=json&token=t"],
    ["https://host/api/post", "t", "https://host/api/post?format=json&token=t"],
    ["http://127.0.0.1:6097/uni/tok/json", undefined, "http://127.0.0.1:6097/uni/tok/json"],
    ["https://host/post?token=t", undefined, "https://host/post?token=t&format=json"],
  ];
  for (const [endpoint, token, expected] of cases) assert.equal(submissionUrlFor(endpoint, token), expected, endpoint);
});

test("a token of any characters is written into the query as URLSearchParams writes it, and found again as a secret", () => {
  const tokens = ["a!b~c'd(e)f*g", "tök€n", "a+bc", "a%20b", "a&b=c", "x%zz", "a/b?c#d", "\u{1F600}tok", 'q"<>;', "-._*"];
  for (const token of tokens) {
    for (const endpoint of ["https://host:6098", "https://host/api/", "https://host/?", "https://host/?a=b%20c"]) {
      const expected = new URL(endpoint);
      expected.pathname = `${expected.pathname.replace(/\/+$/, "")}/post`;
      expected.searchParams.set("format", "json");
      expected.searchParams.set("token", token);
      const url = submissionUrlFor(endpoint, token);
      assert.equal(url, expected.href, `${endpoint} ${token}`);
      assert.ok(urlSecrets(url).includes(token), `${token} is a secret of ${url}`);
    }
  }
  // A query whose escapes do not decode is read by URLSearchParams, as before.
  assert.deepEqual(urlSecrets("https://host/post?token=ab%zzcd&token=x+y%21z"), ["ab%25zzcd", "ab%zzcd", "x%20y!z", "x y!z"]);
});

test("a malformed endpoint is not echoed back (it may hold a token)", () => {
  throwsCode({ endpoint: "submit.backtrace.io/acme/0123456789abcdef/json" }, ErrorCodes.INVALID_ENDPOINT, "endpoint", /not a valid URL/);
  try {
    resolveOptions({ endpoint: "submit.backtrace.io/acme/0123456789abcdef/json" });
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /0123456789/);
  }
});

test("redacts the password of a URL with credentials", () => {
  assert.equal(redactUrl("https://user:hunter2@host/post?token=t"), "https://user:***@host/post?token=***");
});

test("redacts the token in both URL forms", () => {
  assert.equal(redactUrl("https://host/post?format=json&token=secret"), "https://host/post?format=json&token=***");
  assert.equal(redactUrl("https://submit.backtrace.io/uni/secret/json"), "https://submit.backtrace.io/uni/***/json");
});

test("proxy: a URL or false; a bad one fails at initialize without echoing it", () => {
  assert.equal(resolveOptions(base).proxy, undefined);
  assert.equal(resolveOptions({ ...base, proxy: false }).proxy, false);
  assert.equal(resolveOptions({ ...base, proxy: "http://u:p@proxy:3128" }).proxy, "http://u:p@proxy:3128/");
  for (const proxy of ["not a url with s3cret", "ftp://u:s3cret@proxy", "", true, 3128]) {
    throwsCode({ ...base, proxy }, ErrorCodes.INVALID_OPTION, "proxy", /http:\/\/ or https:\/\/ URL/);
    assert.throws(() => resolveOptions({ ...base, proxy }), (error: Error) => !error.message.includes("s3cret"));
  }
});

test("ca: PEM text, or a PEM file read once at initialize; anything else fails at initialize", () => {
  const pem = privateCa().caCert;
  assert.equal(resolveOptions({ ...base, ca: pem }).ca?.trim(), pem.trim());
  const reads: string[] = [];
  const fromFile = resolveOptions({ ...base, ca: "/etc/ssl/corp-ca.pem" }, (path) => (reads.push(path), pem));
  assert.equal(fromFile.ca?.trim(), pem.trim());
  assert.deepEqual(reads, ["/etc/ssl/corp-ca.pem"]);
  throwsCode({ ...base, ca: "/no/such/ca.pem" }, ErrorCodes.INVALID_OPTION, "ca", /could not be read \(ENOENT\)/);
  throwsCode({ ...base, ca: 42 }, ErrorCodes.INVALID_OPTION, "ca", /PEM/);
  throwsCode({ ...base, ca: "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n" }, ErrorCodes.INVALID_OPTION, "ca", /no PEM certificate/);
  throwsCode({ ...base, ca: "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n" }, ErrorCodes.INVALID_OPTION, "ca", /does not parse/);
});

test("breadcrumbs, stackTraceLimit and maxAttachmentBytes are checked", () => {
  const base = { endpoint: "https://submit.backtrace.io/u/t/json" };
  assert.deepEqual(resolveOptions(base).breadcrumbs, { console: true, http: true, warnings: true, maxEntries: 100, maxMessageLength: 255, maxAttributeDepth: 2, maxBytes: 65536 });
  assert.equal(resolveOptions({ ...base, breadcrumbs: false }).breadcrumbs, false);
  assert.equal((resolveOptions({ ...base, breadcrumbs: { http: false } }).breadcrumbs as { http: boolean }).http, false);
  assert.throws(() => resolveOptions({ ...base, breadcrumbs: { consol: false } }), /unknown option "breadcrumbs.consol"/);
  assert.throws(() => resolveOptions({ ...base, breadcrumbs: { console: "yes" } }), /breadcrumbs.console/);
  assert.throws(() => resolveOptions({ ...base, breadcrumbs: { maxEntries: 0 } }), /breadcrumbs.maxEntries/);
  assert.throws(() => resolveOptions({ ...base, breadcrumbs: "all" }), /"breadcrumbs" must be false or an object/);
  assert.equal(resolveOptions(base).stackTraceLimit, 50);
  assert.throws(() => resolveOptions({ ...base, stackTraceLimit: 0 }), /stackTraceLimit/);
  assert.throws(() => resolveOptions({ ...base, maxAttachmentBytes: -1 }), /maxAttachmentBytes/);
});
