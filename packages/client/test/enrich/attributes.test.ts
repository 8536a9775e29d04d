import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applicationInfo, cachedDynamicAttributes, machineGuid, parseProcFile, staticAttributes, dynamicAttributes, type ReadText } from "../../src/enrich/attributes.js";
import { VERSION } from "../../src/version.js";

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("reads the application's name and version from the nearest package.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-app-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "shop", version: "2.3.4" }));
  mkdirSync(join(dir, "dist"));
  assert.deepEqual(applicationInfo(join(dir, "dist", "main.js"), "/"), { name: "shop", version: "2.3.4" });
});

test("falls back to the script name when no package.json names the application, never throwing", () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-noapp-"));
  writeFileSync(join(dir, "package.json"), "{ not json");
  const none: ReadText = (path) => (path.startsWith(dir) ? "{ broken" : undefined);
  assert.deepEqual(applicationInfo(join(dir, "server.js"), dir, none), { name: "server", version: "unknown" });
  assert.deepEqual(applicationInfo(undefined, "/", () => undefined), { name: "node", version: "unknown" });
});

test("derives a stable guid from the machine id without sending it raw", () => {
  const read: ReadText = (path) => (path === "/etc/machine-id" ? "0123456789abcdef0123456789abcdef\n" : undefined);
  const a = machineGuid(read, "linux");
  assert.match(a, uuidV4);
  assert.equal(machineGuid(read, "linux"), a);
  assert.ok(!a.replace(/-/g, "").includes("0123456789abcdef"));
  const fallback = machineGuid(() => undefined, "linux");
  assert.match(fallback, uuidV4);
  assert.notEqual(machineGuid(() => undefined, "darwin"), fallback);
});

test("parses /proc files into byte attributes", () => {
  const meminfo = "MemTotal:       16000 kB\nMemFree:  8000 kB\nHugePages_Total: 0\nSwapTotal: 10 kB\n";
  assert.deepEqual(parseProcFile(meminfo, { MemTotal: "system.memory.total", MemFree: "system.memory.free", SwapTotal: "system.memory.swap.total" }), {
    "system.memory.total": 16000 * 1024,
    "system.memory.free": 8000 * 1024,
    "system.memory.swap.total": 10240,
  });
});

test("static attributes use the documented names and scalar values", () => {
  const attrs = staticAttributes();
  for (const name of ["backtrace.agent", "backtrace.version", "application", "application.version", "application.session", "hostname",
    "uname.sysname", "uname.release", "uname.version", "uname.machine", "cpu.arch", "cpu.brand", "cpu.count", "process.id", "guid"]) {
    assert.ok(name in attrs, name);
    assert.ok(["string", "number", "boolean"].includes(typeof attrs[name]), name);
  }
  assert.equal(attrs["backtrace.agent"], "backtrace-ts");
  assert.equal(attrs["backtrace.version"], VERSION);
  assert.equal(attrs["process.id"], process.pid);
  assert.match(String(attrs["application.session"]), uuidV4);
});

test("dynamic attributes carry process age and, on Linux, memory", () => {
  const status = "VmRSS:\t  2048 kB\nThreads:\t7\n";
  const attrs = dynamicAttributes((p) => (p === "/proc/self/status" ? status : p === "/proc/meminfo" ? "MemTotal: 1 kB\n" : undefined), "linux");
  assert.equal(typeof attrs["process.age"], "number");
  assert.equal(attrs["vm.rss.size"], 2048 * 1024);
  assert.equal(attrs["process.thread.count"], 7);
  assert.equal(attrs["system.memory.total"], 1024);
  assert.deepEqual(Object.keys(dynamicAttributes(() => "MemTotal: 1 kB", "darwin")), ["process.age"]);
});

test("no environment variable is sent as an attribute", () => {
  process.env["BT_SECRET_CANARY"] = "canary-value-123";
  const all = JSON.stringify({ ...staticAttributes(), ...dynamicAttributes() });
  assert.doesNotMatch(all, /canary-value-123/);
});

test("dynamic attributes are read at most once per interval, with process age always current", () => {
  let reads = 0;
  let clock = 0;
  const read: ReadText = (path) => (path === "/proc/meminfo" ? (reads++, "MemFree: 1 kB\n") : undefined);
  const get = cachedDynamicAttributes(1000, read, () => clock);
  get();
  get();
  assert.equal(reads, process.platform === "linux" ? 1 : 0);
  clock = 1000;
  const later = get();
  assert.equal(reads, process.platform === "linux" ? 2 : 0);
  assert.equal(typeof later["process.age"], "number");
});

test("code run with -e or -p has no script: the application is not named after its first argument", async () => {
  const { runNode } = await import("../helpers/child.js");
  const cwd = mkdtempSync(join(tmpdir(), "bt-eval-app-"));
  const module = JSON.stringify(new URL("../../src/enrich/attributes.ts", import.meta.url).href);
  const code = `import(${module}).then((m) => process.stdout.write(String(m.staticAttributes().application)))`;
  // tsx by its full address: the child runs in a folder of its own, where the package cannot be found by name.
  const tsx = import.meta.resolve("tsx");
  const evaluated = await runNode(["--import", tsx, "-e", code, "some-argument"], { cwd });
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.equal(evaluated.stdout, "node", "no package.json, no script: Node's name");
  const printed = await runNode(["--import", tsx, "-p", `${code}; ""`, "other-argument"], { cwd });
  assert.equal(printed.code, 0, printed.stderr);
  // -p prints its expression's value (an empty line) before the application's name.
  assert.equal(printed.stdout.trim(), "node");
});
