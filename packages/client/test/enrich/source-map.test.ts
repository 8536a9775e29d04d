import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile as fsReadFile } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createSourceMapper } from "../../src/enrich/source-map.js";
import { createSourceReader } from "../../src/enrich/source-code.js";
import { parseStack, type StackFrame } from "../../src/capture/stack.js";
import { describeThrown } from "../../src/capture/thrown.js";
import { MAIN_TS, UTIL_TS, buildFixture, positionOf, runFixture, runWithTsx, type Fixture } from "../helpers/source-map-fixture.js";

let fx: Fixture;
const THROW = positionOf(UTIL_TS, "new RangeError");
const CALL_GREET = positionOf(MAIN_TS, 'greet("")');
const CALL_RUN = positionOf(MAIN_TS, "runGreeting({");

before(() => {
  fx = buildFixture();
});

function counting(): { reads: string[]; readFile: (path: string) => Promise<string> } {
  const reads: string[] = [];
  return { reads, readFile: (path) => (reads.push(path), fsReadFile(path, "utf8")) };
}

/** The first three frames of the original error: Greeter.greet, runGreeting, wrapped. */
function assertOriginal(frames: StackFrame[], generatedFile: string | RegExp): void {
  const [greet, run, wrapped] = frames as [StackFrame, StackFrame, StackFrame];
  assert.equal(greet.file, fx.utilTs);
  assert.deepEqual([greet.line, greet.column], [THROW.line, THROW.column]);
  assert.match(greet.funcName, /\.greet$/);
  assert.equal(run.file, fx.mainTs);
  assert.deepEqual([run.line, run.column], [CALL_GREET.line, CALL_GREET.column]);
  assert.equal(run.funcName, "runGreeting");
  assert.equal(wrapped.file, fx.mainTs);
  assert.equal(wrapped.line, CALL_RUN.line);
  assert.equal(wrapped.funcName, "wrapped");
  for (const frame of [greet, run, wrapped]) {
    assert.ok(frame.generated !== undefined);
    if (typeof generatedFile === "string") assert.equal(frame.generated.file, generatedFile);
    else assert.match(frame.generated.file, generatedFile);
  }
}

test("maps tsc output (separate .map files) to the .ts file, line, column and name", async () => {
  const { cause } = runFixture(fx.tscMain);
  const frames = parseStack(cause);
  assert.match(frames[0]!.file!, /dist\/util\.js$/);
  const mapped = await createSourceMapper().mapFrames(frames);
  assert.equal(mapped[0]!.funcName, "Greeter.greet");
  assert.equal(mapped[0]!.generated?.file, join(fx.dir, "dist", "util.js"));
  assertOriginal(mapped, /dist\/(util|main)\.js$/);
  // tsc writes no sourcesContent: the source reader reads the .ts file from disk.
  assert.equal(mapped[0]!.originalSource, undefined);
  const { sourceCode, frameIds } = await createSourceReader().collect(mapped, { contextLineCount: 2, tabWidth: 8 });
  assert.equal(frameIds[0], fx.utilTs);
  const entry = sourceCode[fx.utilTs]!;
  assert.equal(entry.startLine, THROW.line - 2);
  assert.match(entry.text, /throw new RangeError\(`cannot greet nobody/);
  assert.match(sourceCode[fx.mainTs]!.text, /return greeter\.greet\(""\);/);
  // Internal frames are left as they were.
  const internal = mapped.find((f) => f.internal === true);
  assert.ok(internal !== undefined && internal.generated === undefined);
});

test("maps a minified esbuild bundle with an external map, names from the map", async () => {
  const { cause } = runFixture(fx.bundleExternal);
  const frames = parseStack(cause);
  assert.notEqual(frames[1]!.funcName, "runGreeting"); // minified
  const mapped = await createSourceMapper().mapFrames(frames);
  assertOriginal(mapped, fx.bundleExternal);
  assert.equal(mapped[0]!.originalSource, UTIL_TS);
  const { sourceCode } = await createSourceReader({ readFile: () => Promise.reject(new Error("sourcesContent should be used")) }).collect(
    mapped,
    { contextLineCount: 1, tabWidth: 4 },
  );
  assert.deepEqual(sourceCode[fx.utilTs], {
    text: UTIL_TS.split("\n").slice(THROW.line - 2, THROW.line + 1).join("\n"),
    startLine: THROW.line - 1,
    startColumn: 1,
    path: fx.utilTs,
    tabWidth: 4,
  });
});

test("maps an esbuild bundle with an inline map", async () => {
  const mapped = await createSourceMapper().mapFrames(parseStack(runFixture(fx.bundleInline).cause));
  assertOriginal(mapped, fx.bundleInline);
});

test("maps a minified ES module bundle whose frames are file:// URLs with escaped characters", async () => {
  const frames = parseStack(runFixture(fx.bundleEsm).cause);
  assert.equal(frames[0]!.file, fx.bundleEsm);
  assertOriginal(await createSourceMapper().mapFrames(frames), fx.bundleEsm);
});

test("maps the cause and the error itself through mapThrown", async () => {
  const { stack, cause } = runFixture(fx.bundleExternal);
  const info = describeThrown(Object.assign(new Error("greeting failed"), { stack, cause: Object.assign(new RangeError("x"), { stack: cause }) }));
  const mapped = await createSourceMapper().mapThrown(info);
  assert.equal(mapped.frames[0]!.file, fx.mainTs);
  assert.equal(mapped.frames[0]!.funcName, "wrapped");
  assertOriginal(mapped.causes[0]!.frames, fx.bundleExternal);
  assertOriginal(createSourceMapper().mapThrownSync(info).causes[0]!.frames, fx.bundleExternal);
});

test("leaves frames that tsx or --enable-source-maps already mapped as they are", async () => {
  for (const { cause } of [runWithTsx(fx.mainTs), runFixture(fx.tscMain, ["--enable-source-maps"])]) {
    const frames = parseStack(cause);
    assert.equal(frames[0]!.file, fx.utilTs);
    assert.deepEqual([frames[0]!.line, frames[0]!.column], [THROW.line, THROW.column]);
    const mapped = await createSourceMapper().mapFrames(frames);
    assert.deepEqual(mapped, frames);
    const { sourceCode } = await createSourceReader().collect(mapped, { contextLineCount: 0, tabWidth: 8 });
    assert.match(sourceCode[fx.utilTs]!.text, /throw new RangeError/);
  }
});

test("mapFramesSync gives the same frames as mapFrames", async () => {
  const frames = parseStack(runFixture(fx.tscMain).cause);
  const sync = createSourceMapper({ readFile: () => Promise.reject(new Error("async reader used")) }).mapFramesSync(frames);
  assert.deepEqual(sync, await createSourceMapper().mapFrames(frames));
  assertOriginal(sync, /dist\/(util|main)\.js$/);
});

test("reads and parses each map once; a cached stack is mapped without reading", async () => {
  const frames = parseStack(runFixture(fx.tscMain).cause);
  const { reads, readFile } = counting();
  const mapper = createSourceMapper({ readFile });
  const first = await mapper.mapFrames(frames);
  const firstReads = reads.length;
  assert.ok(firstReads >= 4, `read ${reads.join(", ")}`); // two .js and two .map files
  const ten = [...frames, ...frames].slice(0, 10);
  for (let i = 0; i < 100; i++) await mapper.mapFrames(ten);
  assert.equal(reads.length, firstReads);
  assert.deepEqual(await mapper.mapFrames(frames), first);
});

test("reads a file with no map once (negative cache) and concurrent calls share one read", async () => {
  const plain = join(fx.dir, "plain.js");
  writeFileSync(plain, "throw new Error('x');\n");
  const { reads, readFile } = counting();
  const mapper = createSourceMapper({ readFile });
  const frames: StackFrame[] = [{ funcName: "f", file: plain, line: 1, column: 1 }];
  const results = await Promise.all([mapper.mapFrames(frames), mapper.mapFrames(frames), mapper.mapFrames(frames)]);
  await mapper.mapFrames(frames);
  assert.deepEqual(reads, [plain]);
  for (const result of results) assert.deepEqual(result, frames);
});

test("keeps at most maxMaps parsed maps", async () => {
  const frames = parseStack(runFixture(fx.tscMain).cause).slice(0, 2); // util.js, main.js
  const { reads, readFile } = counting();
  const mapper = createSourceMapper({ readFile, maxMaps: 1 });
  await mapper.mapFrames([frames[0]!]);
  await mapper.mapFrames([frames[1]!]);
  await mapper.mapFrames([frames[0]!]);
  assert.equal(reads.filter((r) => r.endsWith("util.js")).length, 2);
});

test("a missing, broken or foreign map leaves the frame unchanged with a debug message", async () => {
  const cases: Array<[string, string]> = [
    ["missing.js", "f();\n//# sourceMappingURL=missing.js.map\n"],
    ["badjson.js", "f();\n//# sourceMappingURL=badjson.js.map\n"],
    ["badinline.js", "f();\n//# sourceMappingURL=data:application/json;base64,bm90IGpzb24=\n"],
    ["remote.js", "f();\n//# sourceMappingURL=https://example.com/remote.js.map\n"],
  ];
  writeFileSync(join(fx.dir, "badjson.js.map"), "{ not json");
  const messages: string[] = [];
  const mapper = createSourceMapper({ debug: (m) => messages.push(m) });
  for (const [name, text] of cases) {
    const file = join(fx.dir, name);
    writeFileSync(file, text);
    const frames: StackFrame[] = [{ funcName: "f", file, line: 1, column: 1 }];
    assert.deepEqual(await mapper.mapFrames(frames), frames);
    assert.deepEqual(mapper.mapFramesSync(frames), frames);
    assert.ok(messages.some((m) => m.includes(file)), `no debug message for ${name}`);
  }
});

test("a position the map does not cover and an unreadable file leave the frame unchanged", async () => {
  const frames: StackFrame[] = [
    { funcName: "f", file: fx.tscMain, line: 9999, column: 1 },
    { funcName: "g", file: join(fx.dir, "does-not-exist.js"), line: 1, column: 1 },
    { funcName: "n", native: true },
  ];
  assert.deepEqual(await createSourceMapper().mapFrames(frames), frames);
});

test("a sourceMappingURL inside a string, not a trailing comment, is ignored", async () => {
  const file = join(fx.dir, "stringy.js");
  writeFileSync(file, 'const s = "//# sourceMappingURL=stringy.js.map";\nf(s);\n');
  writeFileSync(`${file}.map`, '{"version":3,"sources":["x.ts"],"names":[],"mappings":"AAAA"}');
  const frames: StackFrame[] = [{ funcName: "f", file, line: 1, column: 1 }];
  assert.deepEqual(await createSourceMapper().mapFrames(frames), frames);
});

/** A map of one segment: generated line 1, column 1 is x.ts line 1, column 1; `content` padded into sourcesContent. */
function oneSegmentMap(content: string): string {
  return JSON.stringify({ version: 3, sources: ["x.ts"], sourcesContent: [content], names: [], mappings: "AAAA" });
}

test("a map file over maxMapBytes is skipped with a debug message, on both paths", async () => {
  const file = join(fx.dir, "big-map.js");
  writeFileSync(file, "f();\n//# sourceMappingURL=big-map.js.map\n");
  writeFileSync(`${file}.map`, oneSegmentMap("x".repeat(4000)));
  const frames: StackFrame[] = [{ funcName: "f", file, line: 1, column: 1 }];
  assert.equal((await createSourceMapper().mapFrames(frames))[0]!.file, join(fx.dir, "x.ts"), "used under the limit");
  for (const sync of [false, true]) {
    const messages: string[] = [];
    const mapper = createSourceMapper({ maxMapBytes: 1000, debug: (m) => messages.push(m) });
    assert.deepEqual(sync ? mapper.mapFramesSync(frames) : await mapper.mapFrames(frames), frames);
    assert.ok(messages.some((m) => m.includes(file) && /over the limit of 1000/.test(m)), messages.join("\n"));
  }
});

test("finds the map comment at the end of a long generated file, and an inline map longer than the part read", async () => {
  const external = join(fx.dir, "long.js");
  writeFileSync(external, "f();\n" + "g();\n".repeat(100_000) + "//# sourceMappingURL=long.js.map\n");
  writeFileSync(`${external}.map`, oneSegmentMap("const x = 1;\n"));
  const inline = join(fx.dir, "long-inline.js");
  const data = Buffer.from(oneSegmentMap("y".repeat(200_000))).toString("base64");
  writeFileSync(inline, `f();\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${data}\n`);
  for (const file of [external, inline]) {
    const frames: StackFrame[] = [{ funcName: "f", file, line: 1, column: 1 }];
    const mapped = await createSourceMapper().mapFrames(frames);
    assert.equal(mapped[0]!.file, join(fx.dir, "x.ts"), file);
    assert.deepEqual(createSourceMapper().mapFramesSync(frames), mapped);
  }
});

test("a place's mapped frames are shared while no map changes; another place, or a map read again, is mapped anew", async () => {
  const { encode } = await import("@jridgewell/sourcemap-codec");
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "bt-place-map-"));
  const generatedFile = (name: string, lines: number[]): string => {
    const file = join(dir, name);
    writeFileSync(file, `${lines.map(() => "x();").join("\n")}\n//# sourceMappingURL=${name}.map\n`);
    // Generated line i+1, column 0 is line lines[i] of orig.ts.
    writeFileSync(`${file}.map`, JSON.stringify({ version: 3, sources: ["orig.ts"], names: [], mappings: encode(lines.map((line) => [[0, 0, line - 1, 0]])) }));
    return file;
  };
  const gen = generatedFile("gen.js", [5, 6]);
  const other = generatedFile("other.js", [40]);
  const mapper = createSourceMapper({ maxMaps: 1 });
  const place = [Object.freeze({ funcName: "f", file: gen, line: 1, column: 1 }), Object.freeze({ funcName: "g", file: gen, line: 2, column: 1 })];
  const lines = (frames: StackFrame[]): Array<number | undefined> => frames.map((frame) => frame.line);
  assert.deepEqual(lines(mapper.mapFramesSync(place)), [5, 6]); // the map read now: kept from the next report on
  const first = mapper.mapFramesSync([...place]);
  const again = mapper.mapFramesSync([...place]);
  assert.notEqual(again, first, "an array of its own");
  assert.ok(again.every((frame, i) => frame === first[i] && Object.isFrozen(frame)), "the frames shared");
  assert.equal((await mapper.mapThrown({ type: "Error", message: "m", stack: undefined, frames: [...place], extra: {}, causes: [] })).frames[0], first[0]);
  // Same first frame, another caller: its own frames.
  const sibling = [place[0]!, Object.freeze({ funcName: "h", file: gen, line: 1, column: 1 })];
  assert.deepEqual(lines(mapper.mapFramesSync(sibling)), [5, 5]);
  assert.deepEqual(lines(mapper.mapFramesSync(place)), [5, 6]);
  // Loose frames are mapped each time.
  const loose: StackFrame = { funcName: "k", file: gen, line: 1, column: 1 };
  assert.equal(mapper.mapFramesSync([loose])[0]!.line, 5);
  loose.line = 2;
  assert.equal(mapper.mapFramesSync([loose])[0]!.line, 6);
  // other.js's map takes gen.js's place in the one-map cache; gen.js's map changes and is read again.
  assert.equal(mapper.mapFramesSync([Object.freeze({ funcName: "o", file: other, line: 1, column: 1 })])[0]!.line, 40);
  generatedFile("gen.js", [7, 8]);
  assert.deepEqual(lines(mapper.mapFramesSync([...place])), [7, 8]);
  assert.deepEqual(lines(mapper.mapFramesSync([...place])), [7, 8]);
  assert.deepEqual(lines((await mapper.mapThrown({ type: "Error", message: "m", stack: undefined, frames: [...place], extra: {}, causes: [] })).frames), [7, 8]);
});

test("mapThrownKnown and mapFramesKnown give nothing until every map is in memory, then what the async calls give", async () => {
  const { stack, cause } = runFixture(fx.bundleExternal);
  const info = describeThrown(Object.assign(new Error("greeting failed"), { stack, cause: Object.assign(new RangeError("x"), { stack: cause }) }));
  const { reads, readFile } = counting();
  const mapper = createSourceMapper({ readFile });
  assert.equal(mapper.mapThrownKnown(info), undefined, "no map read yet");
  assert.equal(mapper.mapFramesKnown(info.frames), undefined);
  assert.deepEqual(reads, [], "asking reads nothing");
  const mapped = await mapper.mapThrown(info);
  const known = mapper.mapThrownKnown(info)!;
  assert.deepEqual(known, mapped);
  assertOriginal(known.causes[0]!.frames, fx.bundleExternal);
  assert.deepEqual(mapper.mapFramesKnown(info.causes[0]!.frames), mapped.causes[0]!.frames);
  // Another stack over the same files is mapped for itself: its own frames, not the other place's.
  const fewer = { ...info, frames: info.frames.slice(1), causes: [] };
  const other = mapper.mapThrownKnown(fewer)!;
  assert.deepEqual(other.frames, mapped.frames.slice(1));
});
