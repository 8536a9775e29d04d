// buildBody's wire stacks: reports from one place share one frozen stack and its JSON text; another place, other
// source ids, or frames that are not frozen never get it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBody, wireStack } from "../../src/assemble/build.js";
import { BacktraceReport } from "../../src/capture/report.js";
import { parseStack, type StackFrame } from "../../src/capture/stack.js";
import { serializeBody } from "../../src/serialize/serialize.js";
import { jsonText } from "../../src/payload.js";

const at = (fn: string, line: number, file = "/app/a.js"): string => `    at ${fn} (${file}:${line}:7)`;
const stackOf = (...lines: string[]): StackFrame[] => parseStack(["Error: boom", ...lines].join("\n"));

function body(frames: readonly StackFrame[], ids: readonly (string | undefined)[], extraThreads?: BacktraceReport["extraThreads"]) {
  const report = new BacktraceReport();
  report.extraThreads = extraThreads;
  return buildBody({ report, thrown: undefined, frames, frameIds: ids, sourceCode: {}, attributes: {}, annotations: {}, thread: { id: "main", name: "main" } });
}

/** The body as the client serializes it (with ready attributes, as every report has) must be what JSON.stringify writes. */
function assertSerialized(b: ReturnType<typeof body>): void {
  const ready = { "error.type": "", "error.message": "" };
  assert.equal(jsonText(serializeBody({ ...b, sourceCode: { x: { text: "t", startLine: 1, startColumn: 1, path: "/app/a.js", tabWidth: 8 } } }, Infinity, ready).json), JSON.stringify({ ...b, sourceCode: { x: { text: "t", startLine: 1, startColumn: 1, path: "/app/a.js", tabWidth: 8 } } }));
}

test("reports from one place share one frozen wire stack, serialized as JSON.stringify writes it", () => {
  const ids = ["/app/a.js", "/app/a.js"];
  const first = wireStack(stackOf(at("f", 10), at("g", 20)), ids);
  const again = wireStack(stackOf(at("f", 10), at("g", 20)), [...ids]);
  assert.equal(again, first, "one stack for one place");
  assert.ok(Object.isFrozen(first) && first.every((frame) => Object.isFrozen(frame)));
  assert.deepEqual(first, [
    { funcName: "f", line: 10, column: 7, library: "/app/a.js", sourceCode: "/app/a.js" },
    { funcName: "g", line: 20, column: 7, library: "/app/a.js", sourceCode: "/app/a.js" },
  ]);
  for (let i = 0; i < 3; i++) assertSerialized(body(stackOf(at("f", 10), at("g", 20)), ids));
});

test("another place, other source ids or another length never get a place's stack, whatever the order they come in", () => {
  const places: Array<[string[], (string | undefined)[]]> = [
    [[at("f", 10), at("g", 20)], ["/app/a.js", "/app/a.js"]],
    [[at("f", 10), at("h", 30)], ["/app/a.js", "/app/a.js"]], // same first frame, another caller
    [[at("f", 10), at("g", 20)], ["/app/a.js", undefined]], // same frames, another source id
    [[at("f", 10)], ["/app/a.js"]], // a prefix
    [[at("f", 10), at("g", 20), at("k", 40, "/app/b.js")], ["/app/a.js", "/app/a.js", "/app/b.js"]],
  ];
  const expected = places.map(([lines, ids]) => stackOf(...lines).map((frame, i) => {
    const wire: Record<string, unknown> = { funcName: frame.funcName, line: frame.line, column: frame.column, library: frame.file };
    if (ids[i] !== undefined) wire["sourceCode"] = ids[i];
    return wire;
  }));
  for (let round = 0; round < 4; round++) {
    const order = round % 2 === 0 ? places.map((_, i) => i) : places.map((_, i) => places.length - 1 - i);
    for (const i of order) {
      const [lines, ids] = places[i]!;
      const b = body(stackOf(...lines), ids);
      assert.deepEqual(b.threads["main"]!.stack, expected[i], `place ${i}, round ${round}`);
      assertSerialized(b);
    }
  }
});

test("frames that are not frozen get a stack of their own: a change to them is seen", () => {
  const frame: StackFrame = { funcName: "loose", file: "/app/c.js", line: 1, column: 1 };
  const one = wireStack([frame], ["/app/c.js"]);
  frame.line = 2;
  const two = wireStack([frame], ["/app/c.js"]);
  assert.notEqual(two, one);
  assert.equal(two[0]!.line, 2);
  assert.ok(!Object.isFrozen(two));
});

test("a shared stack next to other threads, or in a thread of another shape, is serialized as JSON.stringify writes it", () => {
  const frames = stackOf(at("f", 10), at("g", 20));
  const extra = { "main-native": { name: "native", fault: false, stack: [{ funcName: "uv_run" }] } };
  assertSerialized(body(frames, ["/app/a.js", "/app/a.js"], extra));
  const b = body(frames, ["/app/a.js", "/app/a.js"]);
  const shared = b.threads["main"]!.stack;
  // The same stack under fields in another order, or with one more field: still the bytes JSON.stringify writes.
  assertSerialized({ ...b, threads: { main: { stack: shared, name: "main", fault: true } as never } });
  assertSerialized({ ...b, threads: { main: { name: "main", fault: true, stack: shared, extra: 1 } as never } });
  assertSerialized({ ...b, threads: { "0": { name: "zero", fault: false, stack: shared }, main: b.threads["main"]! } });
});
