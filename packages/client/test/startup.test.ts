// What importing and initializing the client loads: node:crypto (about 3.5 ms on Node 20) waits for the first report.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runNode } from "./helpers/child.js";
import { CLIENT_DIR } from "./helpers/project.js";
import { startReceiver } from "./helpers/http-receiver.js";
import { loadKey, seal, unseal } from "../src/spool/spool-guard.js";

const CLIENT_INDEX = JSON.stringify(join(CLIENT_DIR, "dist/index.cjs"));
/** A line of script that defines lazy(): whether the build's second file is loaded. */
const LAZY_LOADED = `const lazy = () => Object.keys(require.cache).some((file) => file.endsWith("lazy.cjs"));\n`;

/** A temporary folder for the test, removed after it. */
function scratchDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `text` as `name` in `dir` (a file, not -e: Node's -e loads node:crypto itself) and runs it. */
async function runScript(dir: string, name: string, text: string, options?: Parameters<typeof runNode>[1], timeoutMs?: number) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, ...(await runNode([file], options, timeoutMs)) };
}

test("import and initialize (spool, fatal-error record and all) load no node:crypto; the first report does", async (t) => {
  const dir = scratchDir(t, "bt-startup-");
  const spool = join(dir, "spool");
  const script =
    `const loaded = () => process.moduleLoadList.includes("NativeModule crypto");\n` +
    `const bt = require(${CLIENT_INDEX});\n` +
    `const afterImport = loaded();\n` +
    `bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 0.2, exitTimeout: 0.2 });\n` +
    `const afterInit = loaded();\n` +
    `bt.sendException(new Error("first"));\n` +
    `console.log(JSON.stringify({ afterImport, afterInit, afterReport: loaded() }));\n`;
  const result = await runScript(dir, "app.cjs", script);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { afterImport: false, afterInit: false, afterReport: true });
  // The key was made without node:crypto, and the record sealed at initialize verifies with node:crypto's HMAC.
  const key = loadKey(spool, process.getuid?.());
  assert.equal(key.length, 32);
  assert.notDeepEqual(key, Buffer.alloc(32));
  const records = readdirSync(join(spool, "fatal")).filter((name) => name.startsWith("attributes-"));
  for (const name of records) assert.ok(unseal(readFileSync(join(spool, "fatal", name), "utf8"), key) !== undefined, name);
  assert.ok(unseal(seal('{"a":1}', key), key));
});

test("import, initialize, the counters and the first turn leave the second file of the build (delivery, source maps, fatal-error replay, the stall watchdog) unloaded; the first report loads it", async (t) => {
  const dir = scratchDir(t, "bt-startup-lazy-");
  const script =
    LAZY_LOADED +
    `const bt = require(${CLIENT_INDEX});\n` +
    `const afterImport = lazy();\n` +
    `bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: ${JSON.stringify(join(dir, "spool"))}, timeout: 0.2, exitTimeout: 0.2 });\n` +
    `const afterInit = lazy();\n` +
    // The counters of a client that has sent nothing need no delivery, whose code is in the second file.
    `const counted = bt.getClient().counters().sent === 0 && !lazy();\n` +
    `setTimeout(() => { const later = lazy(); bt.sendException(new Error("first")).then(() => console.log(JSON.stringify({ afterImport, afterInit, counted, later, afterReport: lazy() }))); }, 100);\n`;
  const result = await runScript(dir, "app.cjs", script);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { afterImport: false, afterInit: false, counted: true, later: false, afterReport: true });
});

test("a process that lives on loads the second file a little after its start, so a crash later does not depend on reading it", async (t) => {
  const dir = scratchDir(t, "bt-startup-preload-");
  const script =
    LAZY_LOADED +
    `const bt = require(${CLIENT_INDEX});\n` +
    `bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: false, timeout: 0.2, exitTimeout: 0.2 });\n` +
    `const seen = [];\n` +
    `setTimeout(() => seen.push(lazy()), 500);\n` +
    `setTimeout(() => { seen.push(lazy()); console.log(JSON.stringify(seen)); }, 3000);\n`;
  const result = await runScript(dir, "app.cjs", script);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [false, true]);
  // And its timer never holds a process that has nothing else to do: the process ends without having loaded the
  // file, which that timer would have done (told by what was loaded, not by a time a busy machine can exceed).
  const ended = await runScript(dir, "quick.cjs", LAZY_LOADED + `require(${CLIENT_INDEX}).initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: false });\nprocess.on("exit", () => console.log(JSON.stringify({ loadedAtExit: lazy() })));\n`);
  assert.equal(ended.code, 0, ended.stderr);
  assert.deepEqual(JSON.parse(ended.stdout), { loadedAtExit: false }, "the second file's timer held the process until it ran");
});

test("a second file from another build (the package replaced while the process ran) is refused, not run", async (t) => {
  const dir = scratchDir(t, "bt-startup-stamp-");
  const dist = join(dir, "dist");
  cpSync(join(CLIENT_DIR, "dist"), dist, { recursive: true });
  const lazyFile = join(dist, "lazy.cjs");
  const text = readFileSync(lazyFile, "utf8");
  assert.match(text, /module\.exports\.build="[0-9a-f]{16}";\n$/);
  writeFileSync(lazyFile, text.replace(/module\.exports\.build="[0-9a-f]{16}"/, 'module.exports.build="0000000000000000"'));
  const script =
    `const bt = require(${JSON.stringify(join(dist, "index.cjs"))});\n` +
    `bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: false, timeout: 0.2, exitTimeout: 0.2, debugBacktrace: true });\n` +
    `bt.sendException(new Error("first")).then((outcome) => console.log(JSON.stringify(outcome)), (error) => console.log(JSON.stringify({ thrown: String(error) })));\n`;
  const result = await runScript(dir, "app.cjs", script);
  assert.match(result.stdout + result.stderr, /lazy\.cjs is not the one built with dist\/index\.cjs/);
});

test("code in the second file knows the package's folder: the library's own frames stay out of a report built there", async (t) => {
  const dir = scratchDir(t, "bt-startup-own-");
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  // The error is thrown inside console.log, which the library wraps for breadcrumbs: the wrapper's frame is on the stack.
  const script =
    `const bt = require(${CLIENT_INDEX});\n` +
    `bt.initialize({ endpoint: process.env.BT_ENDPOINT, token: "t", spool: false, timeout: 2, exitTimeout: 2 });\n` +
    `function logThrowing() { console.log({ [Symbol.for("nodejs.util.inspect.custom")]() { throw new Error("inspect failed"); } }); }\n` +
    `try { logThrowing(); } catch (error) { bt.sendException(error).then(() => bt.finalize()); }\n`;
  const { file, ...result } = await runScript(dir, "app.cjs", script, { env: { BT_ENDPOINT: receiver.url } });
  assert.equal(result.code, 0, result.stderr);
  const body = receiver.requests[0]?.report as { threads: Record<string, { stack: Array<{ funcName: string; library?: string }> }>; mainThread: string };
  const stack = body.threads[body.mainThread]!.stack;
  assert.ok(stack.some((frame) => frame.funcName === "logThrowing" && frame.library === file), "the application's frame");
  assert.deepEqual(stack.filter((frame) => String(frame.library).startsWith(join(CLIENT_DIR, "dist"))), [], "no frame of the library's files");
});

test("the default spool folder (named by a hash of the submission URL) and the first turn after initialize load no node:crypto either", async (t) => {
  const dir = scratchDir(t, "bt-startup-default-");
  const script =
    `const loaded = () => process.moduleLoadList.includes("NativeModule crypto");\n` +
    `const bt = require(${CLIENT_INDEX});\n` +
    `bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", disableGlobalHandler: true, timeout: 0.2, exitTimeout: 0.2 });\n` +
    `const afterInit = loaded();\n` +
    // Recovery, replay and the fatal-error record run in the first turns after initialize, before any report.
    `setTimeout(() => { const later = loaded(); bt.sendException(new Error("first")); console.log(JSON.stringify({ afterInit, later, afterReport: loaded() })); }, 100);\n`;
  const result = await runScript(dir, "app.cjs", script, { env: { XDG_CACHE_HOME: join(dir, "cache"), HOME: dir } });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { afterInit: false, later: false, afterReport: true });
  // The folder's name is the same as node:crypto's SHA-256 made it (spools of earlier versions are found again).
  const { createHash } = await import("node:crypto");
  const key = createHash("sha256").update("http://127.0.0.1:9/post?format=json&token=t").digest("hex").slice(0, 16);
  assert.deepEqual(readdirSync(join(dir, "cache", "backtrace-ts", "spool")), [key]);
});

test("a large spooled report verified at the next start is MACed by node:crypto, not by the slower JavaScript HMAC", async (t) => {
  const dir = scratchDir(t, "bt-startup-mac-");
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const spool = join(dir, "spool");
  const init = `const bt = require(${CLIENT_INDEX});\n` +
    `bt.initialize({ endpoint: process.env.BT_ENDPOINT, token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 5, exitTimeout: 2 });\n`;
  // About 370 KB spooled: no network for this run. The next run's request has 5 s: one timed out on a busy machine
  // would be sent again, and the receiver would count two.
  const first = init + `bt.sendException(new Error("large"), { attributes: Object.fromEntries(Array.from({ length: 400 }, (_, i) => ["a" + i, "x".repeat(900)])) });\n`;
  assert.equal((await runScript(dir, "first.cjs", first, { env: { BT_ENDPOINT: "http://127.0.0.1:9" } })).code, 0);
  const next = init + `setTimeout(() => { console.log(JSON.stringify({ loaded: process.moduleLoadList.includes("NativeModule crypto") })); bt.flush(2); }, 1500);\n`;
  const result = await runScript(dir, "next.cjs", next, { env: { BT_ENDPOINT: receiver.url } }, 15_000);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(receiver.requests.length, 1, "the spooled report verified and was sent");
  assert.deepEqual(JSON.parse(result.stdout), { loaded: true });
});
