// Parts of journal records (a breadcrumb that many captures hold): each written once per journal file, before the
// first line that refers to it; read back with the records after a kill; kept by a rewrite only while an open capture
// refers to it; written again in a journal started anew.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSpool } from "../../src/spool/spool.js";
import { orphanJournals } from "../../src/spool/journal-recovery.js";
import { RecordJson, verifiedEntries } from "../../src/spool/journal-format.js";
import { runNode } from "../helpers/child.js";

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), "bt-journal-parts-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
const journalText = (d: string): string => {
  const file = readdirSync(d).find((f) => f.startsWith("journal-"));
  return file ? readFileSync(join(d, file), "utf8") : "";
};
const key = (d: string): Buffer => Buffer.from(readFileSync(join(d, ".key"), "utf8"), "hex");
/** The keys of the part lines of a journal text, in order. */
const partKeys = (text: string): string[] =>
  text
    .split("\n")
    .filter((line) => line.startsWith('{"i":'))
    .map((line) => (JSON.parse(line) as { i: string }).i);

test("a part is written once per journal file, before the first capture that refers to it, and read back with the records after a kill", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  const journalFormat = JSON.stringify(new URL("../../src/spool/journal-format.ts", import.meta.url).href);
  const spool = JSON.stringify(new URL("../../src/spool/spool.ts", import.meta.url).href);
  // Three captures over two commits: the first two share part a, the third adds part b and refers to a again.
  const child = await runNode([
    "--import",
    "tsx",
    "--input-type=module",
    "-e",
    `import { createSpool } from ${spool}; import { RecordJson } from ${journalFormat};
     const j = createSpool({ dir: ${JSON.stringify(d)} }).journal();
     const a = { key: "a", json: '{"message":"first ✓"}' }, b = { key: "b", json: '{"message":"second"}' };
     j.add("r1", () => new RecordJson('{"n":1,"b":["a"]}', [a]));
     j.add("r2", () => new RecordJson('{"n":2,"b":["a"]}', [a]));
     j.flushSync();
     j.add("r3", () => new RecordJson('{"n":3,"b":["a","b"]}', [a, b]));
     j.flushSync();
     process.kill(process.pid, "SIGKILL");`,
  ]);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const text = journalText(d);
  assert.deepEqual(partKeys(text), ["a", "b"], "each part once in the file");
  const lines = text.split("\n");
  assert.ok(lines.findIndex((line) => line.startsWith('{"i":"b"')) < lines.findIndex((line) => line.includes('"u":"r3"')), "a part before the line that refers to it");
  const [orphan] = orphanJournals(d, key(d));
  assert.equal(orphan!.corrupt, 0);
  assert.deepEqual(
    orphan!.records.map((r) => [r.uuid, r.record]),
    [
      ["r1", { n: 1, b: ["a"] }],
      ["r2", { n: 2, b: ["a"] }],
      ["r3", { n: 3, b: ["a", "b"] }],
    ],
  );
  assert.deepEqual([...orphan!.parts], [["a", { message: "first ✓" }], ["b", { message: "second" }]]);
});

test("written anew, the journal keeps the parts its open captures refer to, and none of those only settled captures held; emptied, it writes them again", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  const big = "p".repeat(4096);
  const part = (name: string) => ({ key: name, json: JSON.stringify({ message: name, big }) });
  journal.add("open", () => new RecordJson('{"b":["kept"]}', [part("kept")]));
  for (let i = 0; i < 300; i++) journal.add(`gone-${i}`, () => new RecordJson(`{"i":${i},"b":["gone-${i}","kept"]}`, [part(`gone-${i}`), part("kept")]));
  journal.flushSync(); // about 1.2 MB, past the 1 MB bound
  for (let i = 0; i < 300; i++) journal.settle(`gone-${i}`);
  journal.add("late", () => new RecordJson('{"b":["kept","late"]}', [part("kept"), part("late")]));
  // The group commit of the settlements and "late", then the rewrite it leads to: one sealed commit.
  const deadline = Date.now() + 10_000;
  let text = journalText(d);
  while (!(text.split("\n").filter((line) => line.startsWith('{"s":')).length === 1 && text.includes('"u":"late"')) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    text = journalText(d);
  }
  assert.deepEqual(partKeys(text), ["kept", "late"], "the parts of the open captures, once each");
  const read: string[] = [];
  assert.equal(verifiedEntries(text, key(d), (json) => read.push(json)), 0, "the rewritten journal verifies");
  assert.equal(read.length, 4);
  // A capture after the rewrite refers to a part already in the new file: not written again.
  journal.add("after", () => new RecordJson('{"b":["kept"]}', [part("kept")]));
  journal.flushSync();
  assert.deepEqual(partKeys(journalText(d)), ["kept", "late"]);
  // With nothing open the journal is emptied; a capture then writes its part again.
  for (const uuid of ["open", "late", "after"]) journal.settle(uuid);
  assert.equal(journalText(d), "");
  journal.add("again", () => new RecordJson('{"b":["kept"]}', [part("kept")]));
  journal.flushSync();
  assert.deepEqual(partKeys(journalText(d)), ["kept"]);
  journal.settle("again");
  journal.close();
});

test("a group commit cut short by a full disk: the next one holds its parts again and is read back whole after a kill", async (t) => {
  // A 64 KB tmpfs, nearly filled: the first commit (a 16 KB part and its capture) is written in part, then fails.
  const mount = mkdtempSync(join(tmpdir(), "bt-journal-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mount]);
  t.after(() => {
    execFileSync("umount", [mount]);
    rmSync(mount, { recursive: true, force: true });
  });
  const d = join(mount, "spool");
  createSpool({ dir: d });
  const journalFormat = JSON.stringify(new URL("../../src/spool/journal-format.ts", import.meta.url).href);
  const spool = JSON.stringify(new URL("../../src/spool/spool.ts", import.meta.url).href);
  const filler = JSON.stringify(join(mount, "filler"));
  const child = await runNode([
    "--import",
    "tsx",
    "--input-type=module",
    "-e",
    `import { statfsSync, unlinkSync, writeFileSync } from "node:fs";
     import { createSpool } from ${spool}; import { RecordJson } from ${journalFormat};
     const j = createSpool({ dir: ${JSON.stringify(d)} }).journal();
     const free = () => { const s = statfsSync(${JSON.stringify(mount)}); return s.bavail * s.bsize; };
     writeFileSync(${filler}, Buffer.alloc(free() - 4096));
     const a = { key: "a", json: JSON.stringify({ message: "big", pad: "x".repeat(16 * 1024) }) };
     const wait = () => new Promise((resolve) => setTimeout(resolve, 100));
     j.add("r1", () => new RecordJson('{"n":1,"b":["a"]}', [a]));
     await wait();
     unlinkSync(${filler});
     j.add("r2", () => new RecordJson('{"n":2,"b":["a"]}', [a]));
     await wait();
     process.kill(process.pid, "SIGKILL");`,
  ]);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const [orphan] = orphanJournals(d, key(d));
  // (r1, whose only commit failed, is not in the file: a capture's line is not written again after a failed write.)
  assert.deepEqual(orphan!.records.find((r) => r.uuid === "r2")?.record, { n: 2, b: ["a"] }, "the capture after the failed commit is read back");
  assert.equal((orphan!.parts.get("a") as { message?: unknown } | undefined)?.message, "big", "with its part");
});
