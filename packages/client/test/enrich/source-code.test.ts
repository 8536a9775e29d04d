import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSourceReader } from "../../src/enrich/source-code.js";
import type { StackFrame } from "../../src/capture/stack.js";

const dir = mkdtempSync(join(tmpdir(), "bt-source-code-"));
const numbered = (n: number): string => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
const a = join(dir, "a.js");
const b = join(dir, "b.js");
writeFileSync(a, numbered(40));
writeFileSync(b, "\tfirst\r\nsecond\r\nthird\r\n");

const opts = { contextLineCount: 2, tabWidth: 8 };

function countingReads(): { reads: string[]; readFile: (p: string) => Promise<string> } {
  const reads: string[] = [];
  return {
    reads,
    readFile: async (path: string) => {
      reads.push(path);
      const { readFile } = await import("node:fs/promises");
      return readFile(path, "utf8");
    },
  };
}

test("collects the lines around a frame with startLine and path", async () => {
  const { sourceCode, frameIds } = await createSourceReader().collect([{ funcName: "f", file: a, line: 10, column: 3 }], opts);
  assert.deepEqual(frameIds, [a]);
  assert.deepEqual(sourceCode[a], { text: "line 8\nline 9\nline 10\nline 11\nline 12", startLine: 8, startColumn: 1, path: a, tabWidth: 8 });
});

test("merges frames of one file into one entry covering the union of their ranges", async () => {
  const frames: StackFrame[] = [
    { funcName: "f", file: a, line: 5 },
    { funcName: "g", file: b, line: 1 },
    { funcName: "h", file: a, line: 20 },
  ];
  const { sourceCode, frameIds } = await createSourceReader().collect(frames, opts);
  assert.deepEqual(frameIds, [a, b, a]);
  assert.deepEqual(Object.keys(sourceCode).sort(), [a, b].sort());
  assert.equal(sourceCode[a]?.startLine, 3);
  assert.equal(sourceCode[a]?.text.split("\n").length, 20); // lines 3..22
  assert.equal(sourceCode[a]?.text.split("\n").at(-1), "line 22");
});

test("clamps to the start and end of the file and keeps tabs and the tab width", async () => {
  const { sourceCode } = await createSourceReader().collect([{ funcName: "f", file: b, line: 3 }], { contextLineCount: 10, tabWidth: 4 });
  assert.deepEqual(sourceCode[b], { text: "\tfirst\nsecond\nthird\n", startLine: 1, startColumn: 1, path: b, tabWidth: 4 });
});

test("contextLineCount 0 gives the frame's line only", async () => {
  const { sourceCode } = await createSourceReader().collect([{ funcName: "f", file: a, line: 7 }], { contextLineCount: 0, tabWidth: 8 });
  assert.equal(sourceCode[a]?.text, "line 7");
});

test("gives internal, native and eval-text frames no id; an unreadable file a dangling id and no entry", async () => {
  const missing = join(dir, "missing.js");
  const frames: StackFrame[] = [
    { funcName: "i", file: "node:internal/timers", line: 1, internal: true },
    { funcName: "n", native: true },
    { funcName: "e", file: "<anonymous>", line: 1 },
    { funcName: "m", file: missing, line: 1 },
    { funcName: "r", file: "relative.js", line: 1 },
  ];
  const { sourceCode, frameIds } = await createSourceReader().collect(frames, opts);
  assert.deepEqual(frameIds, [undefined, undefined, undefined, missing, undefined]);
  assert.deepEqual(sourceCode, {});
});

test("uses the source text a source map carried instead of reading the file", async () => {
  const reads = countingReads();
  const original = join(dir, "never-on-disk.ts");
  const { sourceCode } = await createSourceReader({ readFile: reads.readFile }).collect(
    [{ funcName: "f", file: original, line: 2, originalSource: "const a = 1;\nthrow new Error(a);\n" }],
    { contextLineCount: 5, tabWidth: 2 },
  );
  assert.deepEqual(reads.reads, []);
  assert.deepEqual(sourceCode[original], { text: "const a = 1;\nthrow new Error(a);\n", startLine: 1, startColumn: 1, path: original, tabWidth: 2 });
});

test("reads each file once, unreadable ones included", async () => {
  const reads = countingReads();
  const reader = createSourceReader({ readFile: reads.readFile });
  const frames: StackFrame[] = [{ funcName: "f", file: a, line: 1 }, { funcName: "m", file: join(dir, "nope.js"), line: 1 }];
  await reader.collect(frames, opts);
  await reader.collect(frames, opts);
  assert.equal(reads.reads.length, 2);
});

test("keeps the cache within its file count", async () => {
  const reads = countingReads();
  const reader = createSourceReader({ readFile: reads.readFile, maxFiles: 1 });
  await reader.collect([{ funcName: "f", file: a, line: 1 }], opts);
  await reader.collect([{ funcName: "f", file: b, line: 1 }], opts);
  await reader.collect([{ funcName: "f", file: a, line: 1 }], opts);
  assert.deepEqual(reads.reads, [a, b, a]);
});

test("evicts the file used least recently, not the one read first", async () => {
  const reads = countingReads();
  const reader = createSourceReader({ readFile: reads.readFile, maxFiles: 2 });
  const c = join(dir, "c.js");
  writeFileSync(c, numbered(5));
  for (const file of [a, b, a, c, a, b]) await reader.collect([{ funcName: "f", file, line: 1 }], opts);
  // a was used after b, so c's arrival evicts b; a stays.
  assert.deepEqual(reads.reads, [a, b, c, b]);
});

test("keeps the cache within its byte bound and skips files over the size limit", async () => {
  const reads = countingReads();
  const reader = createSourceReader({ readFile: reads.readFile, maxBytes: 10 });
  await reader.collect([{ funcName: "f", file: a, line: 1 }], opts);
  await reader.collect([{ funcName: "f", file: b, line: 1 }], opts);
  await reader.collect([{ funcName: "f", file: a, line: 1 }], opts);
  assert.deepEqual(reads.reads, [a, b, a]);
  const small = createSourceReader({ maxFileBytes: 10 });
  assert.deepEqual((await small.collect([{ funcName: "f", file: a, line: 1 }], opts)).sourceCode, {});
});

test("cuts very long lines", async () => {
  const wide = join(dir, "wide.js");
  writeFileSync(wide, "x".repeat(5000));
  const { sourceCode } = await createSourceReader({ maxLineLength: 100 }).collect([{ funcName: "f", file: wide, line: 1, column: 4000 }], opts);
  assert.equal(sourceCode[wide]?.text, "x".repeat(100) + "…");
});

test("collectSync gives the same result without a promise", async () => {
  const frames: StackFrame[] = [{ funcName: "f", file: a, line: 30 }, { funcName: "g", file: b, line: 2 }, { funcName: "n", native: true }];
  const reader = createSourceReader({ readFile: () => Promise.reject(new Error("collectSync must not use the async reader")) });
  const sync = reader.collectSync(frames, opts);
  assert.deepEqual(sync, await createSourceReader().collect(frames, opts));
  assert.equal(sync.sourceCode[a]?.startLine, 28);
});

test("reports from the same place share one frozen entry; another range gets its own", async () => {
  const reader = createSourceReader();
  const one = await reader.collect([{ funcName: "f", file: a, line: 30 }], opts);
  const two = await reader.collect([{ funcName: "f", file: a, line: 30 }], opts);
  const other = await reader.collect([{ funcName: "g", file: a, line: 40 }], opts);
  assert.ok(one.sourceCode[a]);
  assert.equal(two.sourceCode[a], one.sourceCode[a]);
  assert.ok(Object.isFrozen(one.sourceCode[a]));
  assert.notEqual(other.sourceCode[a], one.sourceCode[a]);
  assert.equal(other.sourceCode[a]?.startLine, 38);
  // A source map's text is split once too: its entries are shared the same way.
  const mapped = { funcName: "m", file: "/src/app.ts", line: 2, originalSource: "a\nb\nc\n", generated: { file: a, line: 1, column: 1 } };
  assert.equal((await reader.collect([mapped], opts)).sourceCode["/src/app.ts"], (await reader.collect([mapped], opts)).sourceCode["/src/app.ts"]);
});

test("reads script files only: a frame naming a .env or .txt file gets no entry, a .js one does", async () => {
  const env = join(dir, ".env");
  const notes = join(dir, "notes.txt");
  const script = join(dir, "handler.js");
  writeFileSync(env, "DB_PASSWORD=hunter2\n");
  writeFileSync(notes, "private notes\n");
  writeFileSync(script, "throw new Error('x');\n");
  const reads = countingReads();
  const frames: StackFrame[] = [
    { funcName: "handler", file: env, line: 1, column: 1 },
    { funcName: "handler", file: notes, line: 1, column: 1 },
    { funcName: "handler", file: script, line: 1, column: 1 },
  ];
  const collected = await createSourceReader({ readFile: reads.readFile }).collect(frames, opts);
  assert.deepEqual(Object.keys(collected.sourceCode), [script]);
  assert.deepEqual(collected.frameIds, [env, notes, script]);
  assert.deepEqual(reads.reads, [script]);
  assert.deepEqual(Object.keys(createSourceReader().collectSync(frames, opts).sourceCode), [script]);
});

test("reads an original source a source map named, whatever its extension", async () => {
  const vue = join(dir, "App.vue");
  writeFileSync(vue, "<template>\n<p>x</p>\n</template>\n");
  const frame: StackFrame = { funcName: "render", file: vue, line: 2, generated: { file: a, line: 1, column: 1 } };
  const { sourceCode } = await createSourceReader().collect([frame], opts);
  assert.equal(sourceCode[vue]?.text, "<template>\n<p>x</p>\n</template>\n");
});

test("a place's result is shared while no file changes; another place, other options or lines read again give their own", async () => {
  const c = join(dir, "c.js");
  const d = join(dir, "d.js");
  writeFileSync(c, numbered(30));
  writeFileSync(d, numbered(30));
  const { reads, readFile } = countingReads();
  const reader = createSourceReader({ readFile, maxFiles: 1 });
  const place = [Object.freeze({ funcName: "f", file: c, line: 10 }), Object.freeze({ funcName: "g", file: c, line: 20 })];
  const other = [place[0]!, Object.freeze({ funcName: "h", file: c, line: 25 })]; // same first frame
  await reader.collect(place, opts); // reads c: kept from the next report on
  const first = await reader.collect(place, opts);
  assert.equal(await reader.collect([...place], opts), first, "one result for one place");
  assert.equal(reader.collectSync([...place], opts), first);
  assert.ok(Object.isFrozen(first) || (Object.isFrozen(first.frameIds) && Object.isFrozen(first.sourceCode)));
  const otherResult = await reader.collect(other, opts);
  assert.notEqual(otherResult, first);
  assert.equal(otherResult.sourceCode[c]!.text.split("\n").at(-1), "line 27");
  assert.equal(first.sourceCode[c]!.text.split("\n").at(-1), "line 22");
  const wider = await reader.collect(place, { ...opts, contextLineCount: 4 });
  assert.equal(wider.sourceCode[c]!.startLine, 6);
  assert.equal((await reader.collect(place, opts)).sourceCode[c]!.startLine, 8);
  // Loose frames (not frozen) are never kept: a change to them is seen.
  const loose: StackFrame = { funcName: "k", file: c, line: 10 };
  await reader.collect([loose], opts);
  loose.line = 15;
  assert.equal((await reader.collect([loose], opts)).sourceCode[c]!.startLine, 13);
  // c changes on disk and is read again (d took its place in the one-file cache): the place sees the new lines.
  await reader.collect([{ funcName: "x", file: d, line: 1 }], opts);
  writeFileSync(c, numbered(30).replace("line 10\n", "changed 10\n"));
  const again = await reader.collect(place, opts);
  assert.match(again.sourceCode[c]!.text, /changed 10/);
  assert.match((await reader.collect(place, opts)).sourceCode[c]!.text, /changed 10/);
  assert.match(reader.collectSync([...place], opts).sourceCode[c]!.text, /changed 10/);
  assert.deepEqual(reads, [c, d, c]);
});

test("collectKnown gives nothing until every file is in memory, then what collect gives; another place its own lines", async () => {
  const e = join(dir, "e.js");
  const f = join(dir, "f.js");
  writeFileSync(e, numbered(30));
  writeFileSync(f, numbered(30));
  const { reads, readFile } = countingReads();
  const reader = createSourceReader({ readFile });
  const place = [Object.freeze({ funcName: "f", file: e, line: 10 }), Object.freeze({ funcName: "g", file: f, line: 20 })];
  assert.equal(reader.collectKnown(place, opts), undefined, "no file read yet");
  assert.deepEqual(reads, [], "asking reads nothing");
  await reader.collect([place[0]!], opts); // e only: f is still missing
  assert.equal(reader.collectKnown(place, opts), undefined, "f not read yet");
  const read = await reader.collect(place, opts);
  const known = reader.collectKnown([...place], opts)!;
  assert.deepEqual(known, read);
  assert.equal(known.sourceCode[f]!.startLine, 18);
  // Another place over the same files, in memory now: made without a read, with its own lines.
  const other = reader.collectKnown([Object.freeze({ funcName: "h", file: e, line: 25 })], opts)!;
  assert.equal(other.sourceCode[e]!.startLine, 23);
  assert.equal(other.sourceCode[f], undefined);
  assert.deepEqual(reads, [e, f]);
});
