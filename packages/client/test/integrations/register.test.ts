import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runNode } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { makeProject } from "../helpers/project.js";

const crashing = 'setTimeout(() => { throw new Error("boom in app"); }, 5);\nconsole.log("app started");\n';
const attrs = (report: unknown): Record<string, unknown> => (report as { attributes: Record<string, unknown> }).attributes;
// Variables a developer's shell may hold must not leak into the children.
const clean = {
  BACKTRACE_ENDPOINT: undefined, BACKTRACE_TOKEN: undefined, BACKTRACE_ATTRIBUTES: undefined, BACKTRACE_DEBUG: undefined,
  BACKTRACE_TIMEOUT: undefined, BACKTRACE_EXIT_TIMEOUT: undefined, BACKTRACE_DISABLE_GLOBAL_HANDLER: undefined,
  BACKTRACE_SPOOL: "off", BACKTRACE_PROXY: undefined, BACKTRACE_STALL_THRESHOLD: undefined, BACKTRACE_RATE_LIMIT: undefined, BACKTRACE_SAMPLE_RATE: undefined,
};

for (const { name, flag, type, file } of [
  { name: "--import in an ES module project", flag: "--import", type: "module", file: "app.mjs" },
  { name: "--require in a CommonJS project", flag: "--require", type: "commonjs", file: "app.cjs" },
]) {
  test(`${name}: an uncaught exception is reported, with the exit code and stderr of a run without it`, async () => {
    const receiver = await startReceiver();
    const project = makeProject({ name: "shop", version: "2.0.0", type }, { [file]: crashing });
    try {
      const plain = await runNode([file], { cwd: project.dir, env: clean });
      const endpoint = `http://127.0.0.1:${receiver.port}`;
      const env = { ...clean, BACKTRACE_ENDPOINT: endpoint, BACKTRACE_TOKEN: "t0k3n" };
      const registered = await runNode([flag, "backtrace-ts/register", file], { cwd: project.dir, env });
      assert.equal(plain.code, 1);
      assert.equal(registered.code, plain.code);
      assert.equal(registered.stderr, plain.stderr);
      assert.equal(registered.stdout, "app started\n");
      assert.equal(receiver.requests.length, 1);
      const report = receiver.requests[0]!.report;
      assert.equal(attrs(report)["error.message"], "boom in app");
      assert.equal(attrs(report)["error.type"], "Unhandled exception");
      assert.equal(attrs(report)["application"], "shop");
      assert.equal(attrs(report)["application.version"], "2.0.0");
      assert.match(receiver.requests[0]!.url, /token=t0k3n/);
    } finally {
      project.remove();
      await receiver.close();
    }
  });
}

test("NODE_OPTIONS=--import reports too, and a worker thread started by the app does not initialize again", async () => {
  const receiver = await startReceiver();
  const app = 'import { Worker } from "node:worker_threads";\nconst w = new Worker("process.exit(0)", { eval: true });\nw.on("exit", () => { throw new Error("after worker"); });\n';
  const project = makeProject({ name: "w", type: "module" }, { "app.mjs": app });
  try {
    const env = { ...clean, BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "t0k3n", NODE_OPTIONS: "--import backtrace-ts/register" };
    const result = await runNode(["app.mjs"], { cwd: project.dir, env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /after worker/);
    assert.equal(receiver.requests.length, 1);
    assert.equal(attrs(receiver.requests[0]!.report)["error.message"], "after worker");
  } finally {
    project.remove();
    await receiver.close();
  }
});

test("without an endpoint: one line on stderr (once, workers included), the app unchanged", async () => {
  const app = 'const { Worker } = require("node:worker_threads");\nnew Worker("1", { eval: true }).on("exit", () => console.log("done", typeof globalThis[Symbol.for("backtrace-ts.default-client")]?.sender));\n';
  const project = makeProject({ name: "n", type: "commonjs" }, { "app.cjs": app });
  try {
    const result = await runNode(["app.cjs"], { cwd: project.dir, env: { ...clean, NODE_OPTIONS: "--require backtrace-ts/register" } });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "done undefined\n");
    assert.equal(result.stderr, "backtrace-ts/register: BACKTRACE_ENDPOINT is not set; reports are off.\n");
  } finally {
    project.remove();
  }
});

test("a bad variable: one line naming it, no token echoed, and the app runs on unreported", async () => {
  const project = makeProject({ name: "b", type: "module" }, { "app.mjs": 'console.log("ran");\n' });
  try {
    for (const [variable, value] of [["BACKTRACE_TIMEOUT", "secret-t0k3n"], ["BACKTRACE_ATTRIBUTES", "{secret-t0k3n"]] as const) {
      const env = { ...clean, BACKTRACE_ENDPOINT: "http://127.0.0.1:1", BACKTRACE_TOKEN: "secret-t0k3n", [variable]: value };
      const result = await runNode(["--import", "backtrace-ts/register", "app.mjs"], { cwd: project.dir, env });
      assert.equal(result.code, 0);
      assert.equal(result.stdout, "ran\n");
      const lines = result.stderr.split("\n").filter(Boolean);
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, new RegExp(`^backtrace-ts/register: BT_\\w+ .*${variable}.*Reports are off\\.$`));
      assert.doesNotMatch(result.stderr, /secret-t0k3n/);
    }
  } finally {
    project.remove();
  }
});

test("without an endpoint, register loads nothing more: not the main bundle, not node:worker_threads", async () => {
  const app = 'console.log(JSON.stringify({ workers: process.moduleLoadList.some((m) => m.includes("worker_threads")), main: Object.keys(require.cache).some((f) => /index\\.c?js$/.test(f)) }));\n';
  const project = makeProject({ name: "l", type: "commonjs" }, { "app.cjs": app });
  try {
    for (const flag of ["--require", "--import"]) {
      const result = await runNode([flag, "backtrace-ts/register", "app.cjs"], { cwd: project.dir, env: clean });
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), { workers: false, main: false });
      assert.equal(result.stderr, "backtrace-ts/register: BACKTRACE_ENDPOINT is not set; reports are off.\n");
    }
    // With an endpoint the client is there (the check is not vacuous).
    const env = { ...clean, BACKTRACE_ENDPOINT: "http://127.0.0.1:1", BACKTRACE_TOKEN: "t" };
    const loaded = await runNode(["--require", "backtrace-ts/register", "app.cjs"], { cwd: project.dir, env });
    assert.equal(JSON.parse(loaded.stdout).main, true);
  } finally {
    project.remove();
  }
});

test("the ES module build of register links no built-in but node:module (an import of node:fs alone adds about 3 ms to start-up)", () => {
  const source = readFileSync(new URL("../../dist/register.mjs", import.meta.url), "utf8");
  const imported = [...source.matchAll(/\bimport\s*(?:[\w${}\s,*]+?\s*from\s*)?["']([^"']+)["']/g)].map((match) => match[1]);
  assert.deepEqual(imported, ["node:module"]);
});
