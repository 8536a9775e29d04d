import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCliArgs, parseSize } from "../src/args.js";
import { isReceiverError } from "../src/errors.js";
import { resolveOptions } from "../src/options.js";

test("parses every flag", () => {
  assert.deepEqual(parseCliArgs(["--port", "0", "--host", "0.0.0.0", "--db", "x.sqlite", "--token", "t", "--max-body", "2m"]), {
    help: false,
    options: { port: 0, host: "0.0.0.0", db: "x.sqlite", token: "t", maxBody: 2 * 1024 * 1024 },
  });
  assert.deepEqual(parseCliArgs([]), { help: false, options: {} });
  assert.deepEqual(
    parseCliArgs(["--viewer-token", "v", "--allowed-hosts", "a.test, .b.test", "--allow-origin", "http://localhost:3000", "--allow-unprotected"]),
    { help: false, options: { viewerToken: "v", allowedHosts: ["a.test", ".b.test"], allowOrigins: ["http://localhost:3000"], allowUnprotected: true } },
  );
  assert.deepEqual(parseCliArgs(["-h"]), { help: true });
});

test("parses sizes in bytes, k and m", () => {
  assert.equal(parseSize("1048576"), 1048576);
  assert.equal(parseSize("512k"), 512 * 1024);
  assert.equal(parseSize("10MB"), 10 * 1024 * 1024);
});

test("rejects unknown flags, missing values and bad numbers with BAD_OPTION", () => {
  for (const argv of [["--nope"], ["--port"], ["--port", "80x"], ["--max-body", "ten"], ["stray"], ["--allowed-hosts", "a,,b"], ["--allow-origin", ""]]) {
    assert.throws(() => parseCliArgs(argv), (error: unknown) => isReceiverError(error) && error.code === "BAD_OPTION", argv.join(" "));
  }
});

test("resolveOptions fills defaults and rejects out-of-range values", () => {
  const resolved = resolveOptions({});
  assert.equal(resolved.port, 6097);
  assert.equal(resolved.host, "127.0.0.1");
  assert.equal(resolved.maxBody, 10 * 1024 * 1024);
  assert.equal(resolved.token, undefined);
  assert.throws(() => resolveOptions({ port: 70000 }), /port must be/);
  assert.throws(() => resolveOptions({ maxBody: 0 }), /maxBody/);
  assert.throws(() => resolveOptions({ token: "" }), /token/);
});

test("resolveOptions rejects malformed hosts and origins, and normalizes the rest", () => {
  assert.deepEqual(resolveOptions({ allowedHosts: ["Receiver.Test", ".dev.test"] }).allowedHosts, ["receiver.test", ".dev.test"]);
  assert.deepEqual(resolveOptions({ allowOrigins: ["HTTP://LocalHost:3000"] }).allowOrigins, ["http://localhost:3000"]);
  for (const entry of ["http://x.test", "a b", "."]) assert.throws(() => resolveOptions({ allowedHosts: [entry] }), /allowedHosts \(--allowed-hosts\)/, entry);
  for (const entry of ["localhost:3000", "http://localhost:3000/app", "ftp://x.test", "*"]) {
    assert.throws(() => resolveOptions({ allowOrigins: [entry] }), /allowOrigins \(--allow-origin\)/, entry);
  }
  assert.throws(() => resolveOptions({ viewerToken: "" }), /viewerToken/);
});
