// Named errors: import and require give the same classes (one build), instanceof holds across two copies of the library loaded side by side; errorText never throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { errorText } from "../src/errors.js";

type Build = typeof import("../src/index.js");

test("import and require of the package give the same classes: the ES module entry is the CommonJS bundle's", async () => {
  const esm = (await import(new URL("../dist/index.mjs", import.meta.url).href)) as Build;
  const cjs = createRequire(import.meta.url)("../dist/index.cjs") as Build;
  assert.equal(esm.BacktraceError, cjs.BacktraceError);
  assert.equal(esm.initialize, cjs.initialize);
  assert.deepEqual(Object.keys(esm).filter((name) => name !== "default").sort(), Object.keys(cjs).sort());
});

test("a BacktraceConfigError thrown by one copy of the library is an instance of another copy's classes", (t) => {
  // Two copies: the bundle, and the same file from another folder (two installs of the package, or an application bundle).
  const dir = mkdtempSync(join(tmpdir(), "bt-copy-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(fileURLToPath(new URL("../dist/index.cjs", import.meta.url)), join(dir, "index.cjs"));
  const esm = createRequire(import.meta.url)(join(dir, "index.cjs")) as Build;
  const cjs = createRequire(import.meta.url)("../dist/index.cjs") as Build;
  assert.notEqual(esm.BacktraceError, cjs.BacktraceError);
  let thrown: unknown;
  try {
    cjs.initialize({ endpoint: "not a url" });
  } catch (error) {
    thrown = error;
  }
  assert.ok(thrown instanceof cjs.BacktraceConfigError);
  assert.ok(thrown instanceof esm.BacktraceConfigError);
  assert.ok(thrown instanceof esm.BacktraceError);
  assert.ok(thrown instanceof Error);
  assert.equal(esm.isBacktraceError(thrown), true);
  // The base class is not an instance of the subclass, in either copy.
  const base = new cjs.BacktraceError(cjs.ErrorCodes.INVALID_OPTION, "x");
  assert.equal(base instanceof esm.BacktraceConfigError, false);
  assert.equal(base instanceof cjs.BacktraceConfigError, false);
  assert.equal(base instanceof esm.BacktraceError, true);
  // Nothing else passes for one.
  assert.equal(new Error("x") instanceof esm.BacktraceError, false);
  assert.equal(Object.assign(new Error("x"), { name: "BacktraceConfigError" }) instanceof esm.BacktraceConfigError, false);
  assert.equal((null as unknown) instanceof esm.BacktraceError, false);
});

test("errorText gives an error's message after its code, and never throws", () => {
  assert.equal(errorText(Object.assign(new Error("connect refused"), { code: "ECONNREFUSED" })), "ECONNREFUSED: connect refused");
  assert.equal(errorText(Object.assign(new Error("ECONNRESET happened"), { code: "ECONNRESET" })), "ECONNRESET happened");
  assert.equal(errorText(new TypeError("bad")), "bad");
  assert.equal(errorText("plain"), "plain");
  assert.equal(errorText(42), "42");
  assert.equal(errorText({ toString: () => "x" }), "object");
  const hostile = new Proxy(new Error("x"), { get: () => { throw new Error("no"); } });
  assert.equal(errorText(hostile), "unknown");
  assert.equal(errorText(Symbol("s")), "Symbol(s)");
});
