import { test } from "node:test";
import assert from "node:assert/strict";
import { validateReport } from "../src/validate.js";

const valid = {
  uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
  timestamp: 1700000000,
  lang: "nodejs",
  langVersion: "v20.0.0",
  agent: "backtrace-ts",
  agentVersion: "0.1.0",
  threads: { main: { name: "main", fault: true, stack: [{ funcName: "f", line: 1, column: 2 }] } },
  mainThread: "main",
  attributes: { "error.type": "Exception" },
};

test("accepts a minimal valid body", () => {
  assert.deepEqual(validateReport(valid), { valid: true, errors: [], flags: [] });
});

test("rejects a millisecond timestamp and says where", () => {
  const result = validateReport({ ...valid, timestamp: Date.now() * 1000 });
  assert.equal(result.valid, false);
  assert.match(result.errors.join("\n"), /\/timestamp/);
});

test("rejects a mainThread that is not a key of threads", () => {
  const result = validateReport({ ...valid, mainThread: "other" });
  assert.equal(result.valid, false);
  assert.match(result.errors.join("\n"), /mainThread "other" is not a key of threads/);
});

test("rejects registers not declared in arch", () => {
  const threads = { main: { name: "main", fault: true, stack: [{ funcName: "f", registers: { rip: "0x1" } }] } };
  const result = validateReport({ ...valid, threads, arch: { name: "x64", registers: { rsp: "u64" } } });
  assert.equal(result.valid, false);
  assert.match(result.errors.join("\n"), /register "rip" is not declared/);
});

test("rejects a null attribute unless told to tolerate it, then flags it", () => {
  const body = { ...valid, attributes: { a: null } };
  assert.equal(validateReport(body).valid, false);
  const tolerated = validateReport(body, { tolerateNullAttributes: true });
  assert.equal(tolerated.valid, true);
  assert.deepEqual(tolerated.flags, ['attribute "a" is null']);
});
