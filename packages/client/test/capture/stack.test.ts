import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";
import { dropFramesUnder, hasRealFile, isFrameUnder, parseStack, type StackFrame } from "../../src/capture/stack.js";

// Stack strings captured from Node 20.20 (scripts under /tmp/stk), plus hand-written Windows ones.
const REAL: Array<{ name: string; stack: string; frames: StackFrame[]; count?: number }> = [
  {
    name: "Array.prototype.map callback (native frame)",
    stack:
      "Error: in map\n    at mapper (/tmp/stk/gen.cjs:5:59)\n    at Array.map (<anonymous>)\n    at /tmp/stk/gen.cjs:5:29\n    at cap (/tmp/stk/gen.cjs:3:32)\n    at Object.<anonymous> (/tmp/stk/gen.cjs:5:1)\n    at Module._compile (node:internal/modules/cjs/loader:1521:14)\n    at Module._extensions..js (node:internal/modules/cjs/loader:1623:10)\n    at Module.load (node:internal/modules/cjs/loader:1266:32)\n    at Module._load (node:internal/modules/cjs/loader:1091:12)\n    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:164:12)",
    count: 10,
    frames: [
      { funcName: "mapper", file: "/tmp/stk/gen.cjs", line: 5, column: 59 },
      { funcName: "Array.map", native: true },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 5, column: 29 },
      { funcName: "cap", file: "/tmp/stk/gen.cjs", line: 3, column: 32 },
      { funcName: "Object.<anonymous>", file: "/tmp/stk/gen.cjs", line: 5, column: 1 },
      { funcName: "Module._compile", file: "node:internal/modules/cjs/loader", line: 1521, column: 14, internal: true },
      { funcName: "Module._extensions..js", file: "node:internal/modules/cjs/loader", line: 1623, column: 10, internal: true },
      { funcName: "Module.load", file: "node:internal/modules/cjs/loader", line: 1266, column: 32, internal: true },
      { funcName: "Module._load", file: "node:internal/modules/cjs/loader", line: 1091, column: 12, internal: true },
      { funcName: "Function.executeUserEntryPoint [as runMain]", file: "node:internal/modules/run_main", line: 164, column: 12, internal: true },
    ],
  },
  {
    name: "JSON.parse reviver",
    stack: "Error: reviver\n    at Object.reviver (/tmp/stk/gen.cjs:6:76)\n    at JSON.parse (<anonymous>)\n    at /tmp/stk/gen.cjs:6:32\n    at cap (/tmp/stk/gen.cjs:3:32)",
    frames: [
      { funcName: "Object.reviver", file: "/tmp/stk/gen.cjs", line: 6, column: 76 },
      { funcName: "JSON.parse", native: true },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 6, column: 32 },
      { funcName: "cap", file: "/tmp/stk/gen.cjs", line: 3, column: 32 },
    ],
  },
  {
    name: "constructor (new) and a location-only internal frame",
    stack:
      "TypeError: ctor\n    at new Foo (/tmp/stk/gen.cjs:7:35)\n    at /tmp/stk/gen.cjs:8:18\n    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:164:12)\n    at node:internal/main/run_main_module:28:49",
    frames: [
      { funcName: "new Foo", file: "/tmp/stk/gen.cjs", line: 7, column: 35 },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 8, column: 18 },
      { funcName: "Function.executeUserEntryPoint [as runMain]", file: "node:internal/modules/run_main", line: 164, column: 12, internal: true },
      { funcName: "anonymous", file: "node:internal/main/run_main_module", line: 28, column: 49, internal: true },
    ],
  },
  {
    name: "eval and a function declared inside eval",
    stack:
      "Error: ev\n    at inner (eval at <anonymous> (/tmp/stk/gen.cjs:12:19), <anonymous>:1:26)\n    at eval (eval at <anonymous> (/tmp/stk/gen.cjs:12:19), <anonymous>:1:45)\n    at /tmp/stk/gen.cjs:12:19",
    frames: [
      { funcName: "inner", file: "/tmp/stk/gen.cjs", line: 12, column: 19, eval: true },
      { funcName: "eval", file: "/tmp/stk/gen.cjs", line: 12, column: 19, eval: true },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 12, column: 19 },
    ],
  },
  {
    name: "nested eval",
    stack:
      "Error: ev2\n    at eval (eval at <anonymous> (eval at <anonymous> (/tmp/stk/gen.cjs:13:26)), <anonymous>:1:7)\n    at eval (eval at <anonymous> (/tmp/stk/gen.cjs:13:26), <anonymous>:1:1)\n    at /tmp/stk/gen.cjs:13:26",
    frames: [
      { funcName: "eval", file: "/tmp/stk/gen.cjs", line: 13, column: 26, eval: true },
      { funcName: "eval", file: "/tmp/stk/gen.cjs", line: 13, column: 26, eval: true },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 13, column: 26 },
    ],
  },
  {
    name: "new Function",
    stack: "Error: nf\n    at eval (eval at <anonymous> (/tmp/stk/gen.cjs:14:26), <anonymous>:3:7)\n    at /tmp/stk/gen.cjs:14:63",
    frames: [
      { funcName: "eval", file: "/tmp/stk/gen.cjs", line: 14, column: 26, eval: true },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 14, column: 63 },
    ],
  },
  {
    name: "async functions and Promise.all (index 0)",
    stack:
      "Error: pa\n    at /tmp/stk/gen.cjs:21:82\n    at async Promise.all (index 0)\n    at async capA (/tmp/stk/gen.cjs:4:39)\n    at async /tmp/stk/gen.cjs:21:3",
    frames: [
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 21, column: 82 },
      { funcName: "async Promise.all", native: true, async: true },
      { funcName: "async capA", file: "/tmp/stk/gen.cjs", line: 4, column: 39, async: true },
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 21, column: 3, async: true },
    ],
  },
  {
    name: "timers (node:internal/timers)",
    stack:
      "Error: timer\n    at /tmp/stk/gen.cjs:22:72\n    at Timeout._onTimeout (/tmp/stk/gen.cjs:22:45)\n    at listOnTimeout (node:internal/timers:581:17)\n    at process.processTimers (node:internal/timers:519:7)",
    frames: [
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 22, column: 72 },
      { funcName: "Timeout._onTimeout", file: "/tmp/stk/gen.cjs", line: 22, column: 45 },
      { funcName: "listOnTimeout", file: "node:internal/timers", line: 581, column: 17, internal: true },
      { funcName: "process.processTimers", file: "node:internal/timers", line: 519, column: 7, internal: true },
    ],
  },
  {
    name: "fs callback with a method alias",
    stack: "Error: fs\n    at /tmp/stk/gen.cjs:23:85\n    at FSReqCallback.readFileAfterClose [as oncomplete] (node:internal/fs/read/context:68:3)",
    frames: [
      { funcName: "anonymous", file: "/tmp/stk/gen.cjs", line: 23, column: 85 },
      { funcName: "FSReqCallback.readFileAfterClose [as oncomplete]", file: "node:internal/fs/read/context", line: 68, column: 3, internal: true },
    ],
  },
  {
    name: "fs/promises rejection (async internal frames) and node:fs",
    stack:
      "Error: ENOENT: no such file or directory, open '/nonexistent/x'\n    at async open (node:internal/fs/promises:637:25)\n    at async Object.readFile (node:internal/fs/promises:1249:14)\n    at Object.openSync (node:fs:573:18)",
    frames: [
      { funcName: "async open", file: "node:internal/fs/promises", line: 637, column: 25, internal: true, async: true },
      { funcName: "async Object.readFile", file: "node:internal/fs/promises", line: 1249, column: 14, internal: true, async: true },
      { funcName: "Object.openSync", file: "node:fs", line: 573, column: 18, internal: true },
    ],
  },
  {
    name: "getter alias and symbol-named method",
    stack: "Error: getter\n    at get v [as v] (/tmp/stk/gen.cjs:27:53)\n    at [sy] (/tmp/stk/gen.cjs:30:59)",
    frames: [
      { funcName: "get v [as v]", file: "/tmp/stk/gen.cjs", line: 27, column: 53 },
      { funcName: "[sy]", file: "/tmp/stk/gen.cjs", line: 30, column: 59 },
    ],
  },
  {
    name: "vm script with a decorated header and a relative file name",
    stack:
      'vmfile.js:1\nfunction f(){ throw new Error("vm") } f()\n              ^\n\nError: vm\n    at f (vmfile.js:1:21)\n    at vmfile.js:1:39\n    at Script.runInContext (node:vm:149:12)',
    frames: [
      { funcName: "f", file: "vmfile.js", line: 1, column: 21 },
      { funcName: "anonymous", file: "vmfile.js", line: 1, column: 39 },
      { funcName: "Script.runInContext", file: "node:vm", line: 149, column: 12, internal: true },
    ],
  },
  {
    name: "ES module file:// URLs with %-encoded space and non-ASCII name",
    stack:
      "Error: esm\n    at thrower (file:///tmp/stk/dir%20with%20space/esm%20%C3%BC.mjs:1:35)\n    at file:///tmp/stk/dir%20with%20space/esm%20%C3%BC.mjs:2:7\n    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)\n    at async ModuleLoader.import (node:internal/modules/esm/loader:606:24)",
    frames: [
      { funcName: "thrower", file: "/tmp/stk/dir with space/esm ü.mjs", line: 1, column: 35 },
      { funcName: "anonymous", file: "/tmp/stk/dir with space/esm ü.mjs", line: 2, column: 7 },
      { funcName: "ModuleJob.run", file: "node:internal/modules/esm/module_job", line: 325, column: 25, internal: true },
      { funcName: "async ModuleLoader.import", file: "node:internal/modules/esm/loader", line: 606, column: 24, internal: true, async: true },
    ],
  },
  {
    name: "Windows paths (hand-written), including parentheses in the path",
    stack:
      "Error: win\n    at handler (C:\\app\\dist\\server.js:10:5)\n    at C:\\app\\dist\\server.js:20:7\n    at Layer.handle [as handle_request] (C:\\Program Files (x86)\\app\\node_modules\\express\\lib\\router\\layer.js:95:5)\n    at \\\\server\\share\\lib.js:3:1\n    at run (file:///C:/app/src/x%20y.mjs:4:9)",
    frames: [
      { funcName: "handler", file: "C:\\app\\dist\\server.js", line: 10, column: 5 },
      { funcName: "anonymous", file: "C:\\app\\dist\\server.js", line: 20, column: 7 },
      { funcName: "Layer.handle [as handle_request]", file: "C:\\Program Files (x86)\\app\\node_modules\\express\\lib\\router\\layer.js", line: 95, column: 5 },
      { funcName: "anonymous", file: "\\\\server\\share\\lib.js", line: 3, column: 1 },
      { funcName: "run", file: "C:\\app\\src\\x y.mjs", line: 4, column: 9 },
    ],
  },
  {
    name: "old-style native, <anonymous> with a position, and a frame with no location",
    stack: "Error: x\n    at foo (native)\n    at bar (<anonymous>:3:4)\n    at baz\n    at new Promise (<anonymous>)",
    frames: [
      { funcName: "foo", native: true },
      { funcName: "bar", file: "<anonymous>", line: 3, column: 4 },
      { funcName: "baz" },
      { funcName: "new Promise", native: true },
    ],
  },
];

for (const row of REAL) {
  test(`parses ${row.name}`, () => {
    const frames = parseStack(row.stack);
    assert.deepEqual(frames.slice(0, row.frames.length), row.frames);
    assert.equal(frames.length, row.count ?? row.frames.length);
  });
}

test("skips the lines of a multi-line message that do not look like frames", () => {
  const stack = "Error: line one\nline two\n  with indent\nat not-indented (x.js:1:1)\n    at real (/a/b.js:1:2)";
  assert.deepEqual(parseStack(stack), [{ funcName: "real", file: "/a/b.js", line: 1, column: 2 }]);
});

test("returns no frames for text without frames or a non-string", () => {
  assert.deepEqual(parseStack("just a message"), []);
  assert.deepEqual(parseStack(""), []);
  assert.deepEqual(parseStack(undefined as unknown as string), []);
});

test("parses a live stack of this file at the right line", () => {
  const here = fileURLToPath(import.meta.url);
  function namedThrower(): Error {
    return new Error("live");
  }
  const markerLine = Number(/stack\.test\.ts:(\d+)/.exec(new Error().stack ?? "")?.[1]);
  const frames = parseStack(namedThrower().stack ?? "");
  assert.equal(frames[0]?.funcName, "namedThrower");
  assert.equal(frames[0]?.file, here);
  assert.equal(frames[0]?.line, markerLine - 2);
  assert.ok(frames.length >= 2);
});

test("follows Error.stackTraceLimit", () => {
  const saved = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 2;
    assert.equal(parseStack(new Error("short").stack ?? "").length, 2);
    Error.stackTraceLimit = 50;
    const deep = (n: number): Error => (n === 0 ? new Error("deep") : deep(n - 1));
    assert.ok(parseStack(deep(30).stack ?? "").length > 30);
  } finally {
    Error.stackTraceLimit = saved;
  }
});

test("drops frames inside a directory and keeps the rest", () => {
  const frames = parseStack(
    "Error: x\n    at send (/app/node_modules/backtrace-ts/dist/esm/client.js:1:1)\n    at user (/app/src/index.js:2:2)\n    at other (/app/node_modules/backtrace-ts-other/x.js:3:3)",
  );
  const kept = dropFramesUnder(frames, "/app/node_modules/backtrace-ts/dist");
  assert.deepEqual(kept.map((f) => f.funcName), ["user", "other"]);
  assert.equal(isFrameUnder(frames[0]!, "/app/node_modules/backtrace-ts/dist/"), true);
  assert.equal(isFrameUnder({ funcName: "n", native: true }, "/app"), false);
  assert.deepEqual(dropFramesUnder(frames, dirname(fileURLToPath(import.meta.url))), frames);
});

test("tells real files from internal, native and eval-text frames", () => {
  assert.equal(hasRealFile({ funcName: "a", file: "/a/b.js" }), true);
  assert.equal(hasRealFile({ funcName: "a", file: "C:\\a\\b.js" }), true);
  assert.equal(hasRealFile({ funcName: "a", file: "node:fs", internal: true }), false);
  assert.equal(hasRealFile({ funcName: "a", file: "<anonymous>" }), false);
  assert.equal(hasRealFile({ funcName: "a", file: "vmfile.js" }), false);
  assert.equal(hasRealFile({ funcName: "a", native: true }), false);
});

test("a line seen before gives an equal frame, frozen so no report can change another's", () => {
  const stack = "Error: x\n    at handler (/app/a.js:3:7)\n    at async run (file:///app/b.mjs:9:1)";
  const first = parseStack(stack);
  const again = parseStack(stack.replace("Error: x", "TypeError: another message"));
  assert.deepEqual(again, first);
  assert.deepEqual(first[1], { funcName: "async run", file: "/app/b.mjs", line: 9, column: 1, async: true });
  assert.ok(first.every((frame) => Object.isFrozen(frame)));
  assert.throws(() => {
    (first[0] as { line?: number }).line = 99;
  }, TypeError);
  assert.equal(parseStack(stack)[0]?.line, 3);
});
