import { test } from "node:test";
import assert from "node:assert/strict";
import { validateReport } from "backtrace-ts-receiver/validate";
import type { ReportBody, WireFrame } from "../../src/body.js";
import { serializeBody, trimSerialized } from "../../src/serialize/serialize.js";
import type { TrimRecord } from "../../src/serialize/trim.js";
import { jsonText } from "../../src/payload.js";

const MB = 1024 * 1024;

/** Lines "// line N of <file>" padded to about `width` characters, N counted from `from`. */
function sourceText(file: string, from: number, count: number, width = 60): string {
  const lines: string[] = [];
  for (let n = from; n < from + count; n += 1) lines.push(`// line ${n} of ${file} `.padEnd(width, "="));
  return lines.join("\n");
}

/** A valid body: 10 frames over 3 files with 400 lines of source in all, 40 attributes, a short log. */
function typicalBody(): ReportBody {
  const files = ["/app/src/server.ts", "/app/src/handler.ts", "/app/src/db.ts"];
  const stack: WireFrame[] = [];
  for (let i = 0; i < 10; i += 1) {
    const file = files[i % 3] as string;
    stack.push({ funcName: `fn${i}`, line: 20 + i * 9, column: 5, library: file, sourceCode: `s${i % 3}` });
  }
  const attributes: Record<string, string | number | boolean> = { "error.type": "Exception", "error.message": "boom" };
  for (let i = 0; i < 38; i += 1) attributes[`attr.${i}`] = i % 2 === 0 ? `value ${i}` : i;
  return {
    uuid: "0f8b9d2a-6c1e-4b7a-9d3f-2e5c8a1b4d6e",
    timestamp: 1_700_000_000,
    lang: "nodejs",
    langVersion: "v20.20.2",
    agent: "backtrace-ts",
    agentVersion: "0.1.0",
    threads: { main: { name: "main", fault: true, stack } },
    mainThread: "main",
    classifiers: ["Error"],
    attributes,
    annotations: {
      Exception: { name: "Error", message: "boom" },
      Log: Array.from({ length: 20 }, (_, i) => ({ ts: 1_700_000_000_000 + i, msg: `log line ${i}` })),
    },
    sourceCode: {
      s0: { text: sourceText(files[0] as string, 1, 134), startLine: 1, startColumn: 1, path: files[0] as string, tabWidth: 8 },
      s1: { text: sourceText(files[1] as string, 1, 133), startLine: 1, startColumn: 1, path: files[1] as string, tabWidth: 8 },
      s2: { text: sourceText(files[2] as string, 1, 133), startLine: 1, startColumn: 1, path: files[2] as string, tabWidth: 8 },
    },
  };
}

/** 5 MB of source, 10,000 log lines, a 2 MB string attribute, deep and wide annotations, 2,000 frames. */
function hugeBody(): ReportBody {
  const body = typicalBody();
  const stack = body.threads["main"]?.stack as WireFrame[];
  for (let i = 0; i < 5; i += 1) {
    const file = `/app/big${i}.js`;
    body.sourceCode[`big${i}`] = { text: sourceText(file, 1001, 10_000, 100), startLine: 1001, startColumn: 1, path: file, tabWidth: 8 };
    stack.push({ funcName: `big${i}`, line: 1500 + i * 1000, column: 1, library: file, sourceCode: `big${i}` });
    stack.push({ funcName: `big${i}b`, line: 9000 + i * 100, column: 1, library: file, sourceCode: `big${i}` });
  }
  for (let i = 0; i < 1990; i += 1) stack.push({ funcName: `deep${i}`.padEnd(80, "_"), line: 1, column: 1, library: "/app/deep.js" });
  body.annotations["Log"] = Array.from({ length: 10_000 }, (_, i) => ({ ts: 1_700_000_000_000 + i, msg: `request ${i} `.padEnd(100, ".") }));
  body.attributes["big.string"] = "s".repeat(2 * MB);
  let deep: unknown = { leaf: "x".repeat(5000) };
  for (let i = 0; i < 200; i += 1) deep = { level: i, next: deep, wide: Array.from({ length: 50 }, (_, j) => `item ${j}`) };
  body.annotations["Deep"] = deep;
  return body;
}

function parsed(json: string): ReportBody {
  return JSON.parse(json) as ReportBody;
}

function assertValid(json: string): void {
  const result = validateReport(JSON.parse(json));
  assert.ok(result.valid, result.errors.slice(0, 5).join("\n").slice(0, 2000));
}

function recordIn(json: string): TrimRecord {
  const section = parsed(json).annotations["backtrace-ts"] as { trimmed: TrimRecord };
  return section.trimmed;
}

function frameLinesMatch(body: ReportBody): void {
  for (const frame of body.threads["main"]?.stack ?? []) {
    const entry = frame.sourceCode === undefined ? undefined : body.sourceCode[frame.sourceCode];
    if (entry === undefined || frame.line === undefined) continue;
    const line = entry.text.split("\n")[frame.line - entry.startLine];
    assert.match(line ?? "", new RegExp(`^// line ${frame.line} of ${entry.path} `), `frame ${frame.funcName}`);
  }
}

test("returns a body under budget untouched, as the JSON JSON.stringify gives", () => {
  const body = typicalBody();
  const out = serializeBody(body, MB);
  assert.equal(jsonText(out.json), JSON.stringify(body));
  assert.equal(out.bytes, Buffer.byteLength(jsonText(out.json)));
  assert.equal(out.trimmed, undefined);
  assertValid(jsonText(out.json));
});

test("writes source entries as bytes made once per entry: bodies that share an entry share its bytes", () => {
  const first = typicalBody();
  first.symbolication = "sourcemap"; // a field after sourceCode: the JSON stays the same object
  first.sourceCode["s0"] = { ...first.sourceCode["s0"]!, text: "const price = '10 €'; // £ ✓" };
  const second = { ...typicalBody(), uuid: "1f8b9d2a-6c1e-4b7a-9d3f-2e5c8a1b4d6e", sourceCode: first.sourceCode };
  const a = serializeBody(first, MB);
  const b = serializeBody(second, MB);
  for (const [out, body] of [[a, first], [b, second]] as const) {
    assert.deepEqual(JSON.parse(jsonText(out.json)), JSON.parse(JSON.stringify(body)));
    assert.equal(out.bytes, Buffer.byteLength(jsonText(out.json)));
    assert.equal(out.json.bytes, out.bytes);
    assertValid(jsonText(out.json));
  }
  const shared = (out: typeof a): Buffer[] =>
    out.json.pieces.filter((p): p is Buffer => Buffer.isBuffer(p) && p.includes('"startLine"'));
  assert.equal(shared(a).length, 3, "one piece of bytes per source entry");
  // The first entry's piece is a view without the leading comma: compare the memory it points at.
  assert.deepEqual(
    shared(a).map((p) => [p.buffer, p.byteOffset + p.length]),
    shared(b).map((p) => [p.buffer, p.byteOffset + p.length]),
  );
  // The same entry under another id is written under that id.
  const renamed = { ...typicalBody(), sourceCode: { other: first.sourceCode["s0"]! } };
  assert.deepEqual(Object.keys(JSON.parse(jsonText(serializeBody(renamed, MB).json)).sourceCode), ["other"]);
});

test("with the attributes every report starts with given, the body is the same bytes JSON.stringify writes", () => {
  const ready: Record<string, string | number | boolean> = { "error.type": "", "error.message": "" };
  for (let i = 0; i < 30; i += 1) ready[`default.${i}`] = i % 3 === 0 ? `dé ${i} "q"` : i % 3 === 1 ? i : true;
  const cases: Array<[string, (attributes: Record<string, string | number | boolean>) => void]> = [
    ["the defaults as they are", () => undefined],
    ["its own after them", (a) => Object.assign(a, { "request.id": "r-1", "retry": 2 })],
    ["one replaced", (a) => ((a["default.4"] = "other"), (a["own"] = 1))],
    ["one removed and set again at the end", (a) => (delete a["default.7"], (a["default.7"] = 7))],
    ["one removed", (a) => void delete a["default.0"]],
    ["a name like an array index", (a) => void (a["42"] = "index")],
    ["the error's two alone", (a) => { for (const key of Object.keys(a).slice(2)) delete a[key]; }],
  ];
  const seen = new Set<string>();
  for (const [what, change] of cases) {
    for (const message of ["first", "second \u2028 ✓"]) {
      const body = typicalBody();
      const attributes: Record<string, string | number | boolean> = { ...ready, "error.type": "TypeError", "error.message": message };
      change(attributes);
      body.attributes = attributes;
      const out = serializeBody(body, MB, ready);
      assert.equal(jsonText(out.json), jsonText(serializeBody(body, MB).json), what);
      assert.deepEqual(JSON.parse(jsonText(out.json)), JSON.parse(JSON.stringify(body)), what);
      assert.equal(out.bytes, Buffer.byteLength(jsonText(out.json)), what);
      seen.add(jsonText(out.json));
    }
  }
  assert.equal(seen.size, cases.length * 2, "each body its own");
});

test("a body with shared source entries over budget is trimmed like any other", () => {
  const body = typicalBody();
  const whole = serializeBody(body, MB).bytes;
  const out = serializeBody(body, whole - 2000);
  assert.ok(out.trimmed);
  assert.ok(out.bytes <= whole - 2000);
  assertValid(jsonText(out.json));
});

test("counts bytes in UTF-8, not in characters", () => {
  const body = typicalBody();
  body.attributes["note"] = "é".repeat(1000);
  const out = serializeBody(body, MB);
  assert.equal(out.bytes, Buffer.byteLength(jsonText(out.json), "utf8"));
  assert.ok(out.bytes > jsonText(out.json).length);
});

test("fits a 7 MB body into 1 MB, stays valid and records each kind of cut", () => {
  const body = hugeBody();
  const out = serializeBody(body, MB);
  assert.ok(out.bytes <= MB, `${out.bytes} bytes`);
  assert.equal(out.bytes, Buffer.byteLength(jsonText(out.json)));
  assertValid(jsonText(out.json));
  const record = out.trimmed as TrimRecord;
  assert.deepEqual(recordIn(jsonText(out.json)), record);
  assert.ok(record.originalBytes > 7 * MB);
  assert.equal(record.budgetBytes, MB);
  assert.ok(record.sourceLines > 0, "source narrowed");
  assert.ok(record.sourceEntries > 0, "source entries dropped");
  assert.ok(record.logLines > 0 && record.logLines < 10_000, "oldest log lines dropped");
  assert.equal(record.strings, 1, "the 2 MB string cut first");
  assert.equal(record.annotationLevel, 0, "annotations kept, the log was enough");
  assert.equal(record.frames, 0);
  const result = parsed(jsonText(out.json));
  assert.equal(result.attributes["report.trimmed"], true);
  const big = String(result.attributes["big.string"]);
  assert.match(big, /^s{131072}\.\.\.\[cut \d+ chars\]$/, "cut to an eighth of the budget");
  frameLinesMatch(result);
});

test("fits the same body into 64 KB, dropping source entries and frames too", () => {
  const out = serializeBody(hugeBody(), 64 * 1024);
  assert.ok(out.bytes <= 64 * 1024, `${out.bytes} bytes`);
  assertValid(jsonText(out.json));
  const record = out.trimmed as TrimRecord;
  for (const key of ["sourceLines", "sourceEntries", "logLines", "annotationLevel", "annotationCuts", "strings", "frames"] as const) {
    assert.ok(record[key] > 0, key);
  }
  const result = parsed(jsonText(out.json));
  assert.ok((result.threads["main"]?.stack.length ?? 0) >= 1);
  assert.equal(result.threads["main"]?.stack[0]?.funcName, "fn0", "the innermost frame stays");
  frameLinesMatch(result);
});

test("cuts only source context from a body slightly over budget", () => {
  const body = hugeBody();
  delete body.attributes["big.string"];
  delete body.annotations["Deep"];
  body.annotations["Log"] = (body.annotations["Log"] as unknown[]).slice(0, 50);
  const full = serializeBody(body, Infinity);
  const out = serializeBody(body, full.bytes - 1000);
  assert.ok(out.bytes <= full.bytes - 1000);
  assertValid(jsonText(out.json));
  const record = out.trimmed as TrimRecord;
  assert.ok(record.sourceLines > 0);
  const { sourceLines, budgetBytes, originalBytes, ...others } = record;
  assert.ok(Object.values(others).every((n) => n === 0), JSON.stringify(others));
  const result = parsed(jsonText(out.json));
  assert.deepEqual(result.annotations["Log"], body.annotations["Log"]);
  assert.equal(result.threads["main"]?.stack.length, body.threads["main"]?.stack.length);
  frameLinesMatch(result);
});

test("keeps the lines around every frame when it narrows source, with startLine moved", () => {
  const body = typicalBody();
  body.sourceCode["s0"] = { text: sourceText("/app/src/server.ts", 1, 5000), startLine: 1, startColumn: 1, path: "/app/src/server.ts", tabWidth: 8 };
  const stack = body.threads["main"]?.stack as WireFrame[];
  (stack[0] as WireFrame).line = 1000;
  (stack[3] as WireFrame).line = 3000;
  const out = serializeBody(body, 40 * 1024);
  assert.ok(out.bytes <= 40 * 1024);
  const result = parsed(jsonText(out.json));
  const entry = result.sourceCode["s0"];
  assert.ok(entry !== undefined && entry.startLine > 1, "lines before the first frame were removed");
  assert.match(entry.text, /lines cut\]/, "the gap between frames is marked");
  frameLinesMatch(result);
});

test("drops source entries no frame uses first, then those of the deepest frames", () => {
  const body = typicalBody();
  const stack = body.threads["main"]?.stack as WireFrame[];
  for (const frame of stack) delete frame.sourceCode;
  (stack[0] as WireFrame).sourceCode = "top";
  (stack[5] as WireFrame).sourceCode = "middle";
  (stack[9] as WireFrame).sourceCode = "deep";
  const entry = (path: string) => ({ text: "y".repeat(10_000), startLine: 1, startColumn: 1, path, tabWidth: 8 });
  body.sourceCode = { top: entry("/top.js"), unused: entry("/unused.js"), middle: entry("/middle.js"), deep: entry("/deep.js") };
  const full = serializeBody(body, Infinity);
  const out = serializeBody(body, full.bytes - 15_000);
  assertValid(jsonText(out.json));
  assert.deepEqual(Object.keys(parsed(jsonText(out.json)).sourceCode), ["top", "middle"]);
  assert.equal(out.trimmed?.sourceEntries, 2);
  assert.equal(out.trimmed?.logLines, 0);
});

test("drops the oldest log lines first", () => {
  const body = typicalBody();
  body.sourceCode = {};
  body.annotations["Log"] = Array.from({ length: 2000 }, (_, i) => ({ ts: i, msg: `line ${i}`.padEnd(50, ".") }));
  const out = serializeBody(body, 50 * 1024);
  assert.ok(out.bytes <= 50 * 1024);
  const log = parsed(jsonText(out.json)).annotations["Log"] as { ts: number }[];
  assert.ok(log.length > 0 && log.length < 2000);
  assert.equal(log[log.length - 1]?.ts, 1999, "the newest line stays");
  assert.equal(log[0]?.ts, 2000 - log.length);
  assert.equal(out.trimmed?.logLines, 2000 - log.length);
  assert.equal(out.trimmed?.annotationLevel, 0);
});

test("drops frames past the first N only as a last step", () => {
  const body = typicalBody();
  const stack = body.threads["main"]?.stack as WireFrame[];
  for (let i = 0; i < 20_000; i += 1) stack.push({ funcName: `f${i}`, line: i + 1, column: 1, library: "/app/x.js" });
  const out = serializeBody(body, 64 * 1024);
  assert.ok(out.bytes <= 64 * 1024);
  assertValid(jsonText(out.json));
  const kept = parsed(jsonText(out.json)).threads["main"]?.stack ?? [];
  assert.equal(out.trimmed?.frames, stack.length - kept.length);
  assert.deepEqual(kept[0], stack[0]);
});

test("drops attributes as a last resort under a tiny budget", () => {
  const body = typicalBody();
  for (let i = 0; i < 5000; i += 1) body.attributes[`many.${i}`] = i;
  const out = serializeBody(body, 4096);
  assert.ok(out.bytes <= 4096, `${out.bytes}`);
  assertValid(jsonText(out.json));
  assert.ok((out.trimmed?.attributes ?? 0) > 0);
});

test("treats a NaN budget as no budget and a zero budget as the smallest body", () => {
  const body = hugeBody();
  assert.equal(serializeBody(body, NaN).trimmed, undefined);
  const tiny = serializeBody(body, 0);
  assert.ok(tiny.bytes > 0 && tiny.bytes < 2000, `${tiny.bytes}`);
  assertValid(jsonText(tiny.json));
  assert.equal(trimSerialized(jsonText(tiny.json), 0), undefined);
});

test("does not change the body it is given", () => {
  const body = hugeBody();
  const before = JSON.stringify(body);
  serializeBody(body, 64 * 1024);
  assert.equal(JSON.stringify(body), before);
});

test("gives the same output for the same input", () => {
  assert.equal(jsonText(serializeBody(hugeBody(), 100_000).json), jsonText(serializeBody(hugeBody(), 100_000).json));
});

test("serializes a body whose annotations hold a cycle and a BigInt", () => {
  const body = typicalBody();
  const cyclic: Record<string, unknown> = { n: 1n };
  cyclic["self"] = cyclic;
  body.annotations["Bad"] = cyclic;
  const out = serializeBody(body, MB);
  assertValid(jsonText(out.json));
  assert.deepEqual(parsed(jsonText(out.json)).annotations["Bad"], { n: "1", self: "[Circular]" });
});

test("merges the trim record into an existing backtrace-ts annotation", () => {
  const body = typicalBody();
  body.annotations["backtrace-ts"] = { droppedLogLines: 3 };
  body.attributes["long"] = "l".repeat(100_000);
  const out = serializeBody(body, 64 * 1024);
  const section = parsed(jsonText(out.json)).annotations["backtrace-ts"] as Record<string, unknown>;
  assert.equal(section["droppedLogLines"], 3);
  assert.ok(section["trimmed"]);
});

test("trims a serialized body again to a smaller budget, adding to the first record", () => {
  const first = serializeBody(hugeBody(), MB);
  const again = trimSerialized(jsonText(first.json), 32 * 1024);
  assert.ok(again !== undefined);
  assert.ok(Buffer.byteLength(again) <= 32 * 1024);
  assertValid(again);
  const record = recordIn(again);
  assert.equal(record.originalBytes, first.trimmed?.originalBytes);
  assert.equal(record.budgetBytes, 32 * 1024);
  assert.equal(record.sourceLines, first.trimmed?.sourceLines);
  assert.equal(record.logLines, 10_000);
  assert.ok(record.frames > 0);
});

test("returns a serialized body that already fits unchanged", () => {
  const json = JSON.stringify(typicalBody());
  assert.equal(trimSerialized(json, MB), json);
});

test("returns undefined when a serialized body cannot fit or is not an object", () => {
  assert.equal(trimSerialized(JSON.stringify(typicalBody()), 100), undefined);
  assert.equal(trimSerialized("not json", MB), undefined);
  assert.equal(trimSerialized("[1,2]", MB), undefined);
});
