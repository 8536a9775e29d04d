// The write-ahead journal: lines written in group commits, each commit sealed once (the lines sealed one by one of
// earlier versions still read), settled ones not recovered, a live process's journal left alone, planted or altered
// lines never recovered, and a journal with nothing open kept small.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSpool } from "../../src/spool/spool.js";
import { orphanJournals } from "../../src/spool/journal-recovery.js";
import { journalName, verifiedEntries } from "../../src/spool/journal-format.js";
import { seal } from "../../src/spool/spool-guard.js";
import { collect, runNode, startNode } from "../helpers/child.js";

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), "bt-journal-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}
const journals = (d: string): string[] => readdirSync(d).filter((f) => f.startsWith("journal-"));
const key = (d: string): Buffer => Buffer.from(readFileSync(join(d, ".key"), "utf8"), "hex");
/** A journal's lines, seal lines apart: what its commits say, and how many commits were sealed. */
function linesOf(text: string): { entries: string[]; seals: number } {
  const lines = text.split("\n").filter((line) => line !== "");
  const seals = lines.filter((line) => /^\{"s":"[0-9a-f]{64}"\}$/.test(line)).length;
  return { entries: lines.filter((line) => !line.startsWith('{"s":')), seals };
}

/**
 * Waits (10 s at most) until the folder's journal text passes `done`, and returns it: what a group commit (or a
 * rewrite) leaves is read once it is on disk, not after a fixed wait that a stalled machine can outlast.
 */
async function journalWhen(d: string, done: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [file] = journals(d);
    const text = file ? readFileSync(join(d, file), "utf8") : "";
    if (done(text)) return text;
    if (Date.now() > deadline) assert.fail(`journal never had ${what}: ${linesOf(text).entries.length} lines, ${linesOf(text).seals} seals`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits (10 s at most) until the folder has no journal. */
async function gone(d: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (journals(d).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Waits until the folder's journal holds this many lines and seals: a group commit is on disk. */
async function committed(d: string, expected: { entries: number; seals: number }): Promise<void> {
  await journalWhen(d, (text) => linesOf(text).entries.length === expected.entries && linesOf(text).seals === expected.seals, JSON.stringify(expected));
}

/** Runs `body` in a child process with `j`, the journal of the spool folder `d`; resolves to how the child ended. */
function inChild(d: string, body: string): ReturnType<typeof runNode> {
  const spool = JSON.stringify(new URL("../../src/spool/spool.ts", import.meta.url).href);
  return runNode(["--import", "tsx", "--input-type=module", "-e", `import { createSpool } from ${spool};\nconst j = createSpool({ dir: ${JSON.stringify(d)} }).journal();\n${body}`]);
}

test("captures are written within the group-commit delay, settled ones are marked, and a live process's journal is not taken", async (t) => {
  const d = dir(t);
  const spool = createSpool({ dir: d });
  const journal = spool.journal()!;
  journal.add("a", () => ({ n: 1 }));
  journal.add("b", () => ({ n: 2 }));
  journal.add("c", () => ({ n: 3 }));
  // The group commit is on disk (its timer ran and its write is done): a fixed wait could end with the write still in
  // flight when the machine stalls, and the settlement below would then be written before the captures.
  await committed(d, { entries: 3, seals: 1 });
  journal.settle("b");
  journal.flushSync();
  assert.equal(journals(d).length, 1);
  const written = linesOf(readFileSync(join(d, journals(d)[0]!), "utf8"));
  assert.equal(written.entries.length, 4, "three captures and one settlement");
  assert.equal(written.seals, 2, "two group commits, each sealed once");
  assert.deepEqual(orphanJournals(d, key(d)), [], "this process's own journal is not an orphan");
  assert.equal(journal.open(), 2);
  journal.settle("a");
  journal.settle("c");
  journal.close();
  // The first commit's data is on disk before its write's callback has run: a write still in flight at close()
  // removes the file when it is done.
  await gone(d);
  assert.deepEqual(journals(d), [], "a closed journal with nothing open is removed");
});

test("closed while a group commit's write is in flight: the file is closed after the write, and removed with nothing open", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  journal.add("a", () => ({ n: 1 }));
  // A timer of the same delay as the group commit's runs right after it, in the same turn: its write is queued on
  // the thread pool and cannot have reported back yet.
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      journal.settle("a");
      journal.close();
      resolve();
    }, 20),
  );
  await gone(d);
  assert.deepEqual(journals(d), [], "a closed journal with nothing open is removed, once its write is done");
});

test("a settled report is never written when it settles before its group commit", (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  let made = 0;
  journal.add("quick", () => (made++, {}));
  journal.settle("quick");
  journal.flushSync();
  assert.equal(made, 0);
  assert.equal(journal.open(), 0);
});

test("an ended process's journal is recovered once: its open captures, not its settled ones, not planted or altered lines", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  // A child writes a journal and dies without settling two of its three captures.
  const child = await inChild(d, `j.add("open-1", () => ({ v: 1 })); j.add("open-2", () => ({ v: 2 })); j.add("done", () => ({ v: 3 }));
     j.flushSync(); j.settle("done"); j.flushSync(); process.kill(process.pid, "SIGKILL");`);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const [file] = journals(d);
  assert.ok(file);
  // Lines another writer planted or changed never verify against the folder's key.
  appendFileSync(join(d, file), '{"u":"planted","r":{"f":["/etc/shadow"]},"mac":"' + "0".repeat(64) + '"}\n{"u":"bare","r":{}}\n');
  const text = readFileSync(join(d, file), "utf8");
  const altered = text.replace('"v":1', '"v":9');
  appendFileSync(join(d, file), altered.split("\n")[0]!.replace("open-1", "open-9") + "\n");
  const [orphan, ...more] = orphanJournals(d, key(d));
  assert.deepEqual(more, []);
  assert.deepEqual(orphan!.records.map((r) => r.uuid).sort(), ["open-1", "open-2"]);
  assert.equal(orphan!.corrupt, 3);
  assert.deepEqual(orphanJournals(d, key(d)), [], "taken over: a second look finds nothing");
  assert.ok(journals(d)[0]!.includes(`-${process.pid}-`), "renamed to this process's name while it recovers");
});

test("the settlements of one group commit are one sealed line, and none of them is recovered after a kill", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  const child = await inChild(d, `for (let i = 0; i < 50; i++) j.add("r" + i, () => ({ i }));
     j.flushSync(); for (let i = 1; i < 50; i++) j.settle("r" + i); j.flushSync(); process.kill(process.pid, "SIGKILL");`);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const text = readFileSync(join(d, journals(d)[0]!), "utf8");
  assert.equal(text.split("\n").filter((line) => line.startsWith('{"d":')).length, 1);
  const [orphan] = orphanJournals(d, key(d));
  assert.deepEqual(orphan!.records.map((r) => r.uuid), ["r0"]);
  assert.equal(orphan!.corrupt, 0);
});

test("a journal with nothing open starts again from empty past its size bound", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  const big = "x".repeat(4096);
  for (let round = 0; round < 400; round++) {
    journal.add(`r${round}`, () => ({ big }));
    journal.flushSync();
    journal.settle(`r${round}`);
  }
  journal.flushSync();
  await new Promise((resolve) => setTimeout(resolve, 80));
  journal.add("last", () => ({}));
  await new Promise((resolve) => setTimeout(resolve, 80));
  const size = statSync(join(d, journals(d)[0]!)).size;
  assert.ok(size < 1024 * 1024 + 64 * 1024, `journal size ${size}`);
  journal.settle("last");
  journal.close();
});

test("a patch of a written record (more duplicates merged) is read back with it after a kill; the latest patch wins", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  const child = await inChild(d, `const count = { n: 1 };
     j.add("carrier", () => ({ v: 1, c: { count: count.n } })); j.flushSync();
     count.n = 2; j.patch("carrier", () => ({ c: { count: count.n } }));
     count.n = 3; j.patch("carrier", () => ({ c: { count: count.n } })); j.flushSync();
     j.patch("unknown", () => ({ c: 9 })); j.flushSync(); process.kill(process.pid, "SIGKILL");`);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const [orphan] = orphanJournals(d, key(d));
  assert.deepEqual(orphan!.records, [{ uuid: "carrier", record: { v: 1, c: { count: 3 } } }]);
  assert.equal(orphan!.corrupt, 0);
});

test("under steady load, with something always open, the journal is written anew past its bound and keeps what is open", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  const big = "y".repeat(4096);
  journal.add("always-open", () => ({ kept: true }));
  for (let round = 0; round < 600; round++) {
    journal.add(`s${round}`, () => ({ big }));
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (round % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 30));
    journal.settle(`s${round}`);
  }
  // The last settlements' commit, then the rewrite it leads to: waited for, not a fixed 80 ms.
  const bound = 1024 * 1024 + 256 * 1024;
  await journalWhen(d, (text) => Buffer.byteLength(text) < bound, "its size under the bound").catch(() => undefined);
  const [file] = journals(d);
  assert.ok(file);
  const size = statSync(join(d, file)).size;
  assert.ok(size < bound, `journal size ${size} after 2.4 MB of captures`);
  // What is open is still there for a next start to find.
  const text = readFileSync(join(d, file), "utf8");
  assert.match(text, /"u":"always-open"/);
  journal.settle("always-open");
  journal.close();
});


test("with more than its bound open (a burst faster than delivery), the journal is not written anew at every group commit", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  const big = "z".repeat(4096);
  for (let i = 0; i < 400; i++) journal.add(`open-${i}`, () => ({ big }));
  journal.flushSync(); // about 1.6 MB open, past the 1 MB bound
  for (let round = 0; round < 25; round++) {
    journal.settle(`open-${round}`); // a settlement line, which a rewrite leaves out
    journal.add(`small-${round}`, () => ({ round }));
    await new Promise((resolve) => setTimeout(resolve, 30)); // one group commit, then the size check
  }
  // The last round's commit is on disk (after a stall its write may still be in flight at the end of the 30 ms).
  const text = await journalWhen(d, (t) => t.includes('"u":"small-24"'), "the last capture");
  // Written anew at most once (at the first commit past the bound): the settlements after it are all still there.
  const settlements = text.split("\n").filter((line) => line.startsWith('{"d":')).length;
  assert.ok(settlements >= 23, `${settlements} of 25 settlement lines left: written anew at group commits`);
  for (const uuid of ["open-25", "open-399", "small-0", "small-24"]) assert.match(text, new RegExp(`"u":"${uuid}"`));
  for (let i = 25; i < 400; i++) journal.settle(`open-${i}`);
  for (let round = 0; round < 25; round++) journal.settle(`small-${round}`);
  journal.close();
});

test("written anew, the journal keeps each open capture's line as first made; one patched since is made again with its count", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  const big = "w".repeat(4096);
  const made = new Map<string, number>();
  const record = (uuid: string, extra: () => Record<string, unknown> = () => ({})) => () => {
    made.set(uuid, (made.get(uuid) ?? 0) + 1);
    return { big, ...extra() };
  };
  const count = { n: 1 };
  journal.add("carrier", record("carrier", () => ({ c: { count: count.n } })));
  for (let i = 0; i < 300; i++) journal.add(`open-${i}`, record(`open-${i}`));
  journal.flushSync(); // about 1.2 MB open, past the 1 MB bound
  count.n = 7;
  journal.patch("carrier", () => ({ c: { count: count.n } }));
  journal.add("late", record("late"));
  // The group commit (patch and late), then the rewrite: waited for until the file is one sealed commit of 302 lines.
  const text = await journalWhen(d, (t) => linesOf(t).seals === 1 && linesOf(t).entries.length === 302, "the rewrite");
  const { entries: lines, seals } = linesOf(text);
  // Written anew: one line per open capture, no patch line left, sealed as one commit that verifies.
  assert.equal(lines.length, 302);
  assert.equal(seals, 1);
  const read: string[] = [];
  assert.equal(verifiedEntries(text, key(d), (json) => read.push(json)), 0);
  assert.deepEqual(read, lines);
  // Each capture's kept line is its own: every open capture once, under its own uuid.
  const uuids = lines.map((line) => (JSON.parse(line) as { u: string }).u).sort();
  assert.deepEqual(uuids, ["carrier", "late", ...Array.from({ length: 300 }, (_, i) => `open-${i}`)].sort());
  assert.ok(lines.every((line) => line.startsWith('{"u":')), "only capture lines after the rewrite");
  for (let i = 0; i < 300; i++) assert.equal(made.get(`open-${i}`), 1, `open-${i} made again`);
  assert.equal(made.get("carrier"), 2);
  const carrier = lines.find((line) => line.includes('"u":"carrier"'))!;
  assert.match(carrier, /"c":\{"count":7\}/);
  journal.close();
});

test("with nothing open the journal is emptied at once and kept for the next capture; it goes once idle, and at exit", async (t) => {
  const d = dir(t);
  const journal = createSpool({ dir: d }).journal()!;
  journal.add("a", () => ({ n: 1 }));
  journal.flushSync();
  const [file] = journals(d);
  assert.ok(file);
  const inode = statSync(join(d, file)).ino;
  journal.settle("a");
  assert.equal(statSync(join(d, file)).size, 0, "emptied when the last capture settles");
  journal.add("b", () => ({ n: 2 }));
  await new Promise((resolve) => setTimeout(resolve, 60)); // its group commit
  assert.equal(statSync(join(d, file)).ino, inode, "the same file, not one made again");
  journal.settle("b");
  assert.equal(statSync(join(d, file)).size, 0);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.deepEqual(journals(d), [], "removed after a second with nothing captured");
  journal.close();

  // A process that ends right after its last settlement leaves no journal behind.
  const e = dir(t);
  createSpool({ dir: e });
  const child = await inChild(e, `j.add("x", () => ({})); j.flushSync(); j.settle("x");`);
  assert.equal(child.code, 0, child.stderr);
  assert.deepEqual(journals(e), []);
});

test("a process that ends right after its last settlement leaves nothing open, when the last captures settled before their group commit", async (t) => {
  // One report written and still open, a second captured after it (its group commit waits); both sent, the second
  // first: the first one's settlement must not wait for a timer an ending process never runs.
  const d = dir(t);
  createSpool({ dir: d });
  const child = await inChild(d, `j.add("early", () => ({})); j.flushSync(); j.add("late", () => ({})); j.settle("late"); j.settle("early");`);
  assert.equal(child.code, 0, child.stderr);
  assert.deepEqual(orphanJournals(d, key(d)).flatMap((orphan) => orphan.records.map((r) => r.uuid)), [], "nothing to send again at the next start");
  // The same with the written one settled first.
  const e = dir(t);
  createSpool({ dir: e });
  const other = await inChild(e, `j.add("early", () => ({})); j.flushSync(); j.add("late", () => ({})); j.settle("early"); j.settle("late");`);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(orphanJournals(e, key(e)).flatMap((orphan) => orphan.records.map((r) => r.uuid)), []);
});

/** The name this process's journal would have, for a pid that has ended: a journal left by a process that is gone. */
async function endedProcessJournal(): Promise<string> {
  const child = startNode(["-e", "0"]);
  const pid = child.pid!;
  await collect(child);
  return journalName().replace(`journal-${process.pid}-`, `journal-${pid}-`);
}

test("a journal an earlier version wrote, every line sealed on its own, is still recovered; its planted lines are not", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  const k = key(d);
  const file = await endedProcessJournal();
  const line = (value: unknown): string => `${seal(JSON.stringify(value), k)}\n`;
  writeFileSync(
    join(d, file),
    line({ u: "old-1", r: { v: 1 } }) + line({ u: "old-2", r: { v: 2 } }) + line({ u: "old-3", r: { v: 3 } }) +
      line({ d: ["old-2"] }) + line({ p: "old-3", r: { v: 4 } }) + '{"u":"planted","r":{},"mac":"' + "0".repeat(64) + '"}\n',
    { mode: 0o600 },
  );
  const [orphan, ...more] = orphanJournals(d, k);
  assert.deepEqual(more, []);
  assert.deepEqual(orphan!.records.sort((a, b) => a.uuid.localeCompare(b.uuid)), [
    { uuid: "old-1", record: { v: 1 } },
    { uuid: "old-3", record: { v: 4 } },
  ]);
  assert.equal(orphan!.corrupt, 1);
});

test("one altered line fails its whole commit, whose captures are not recovered; other commits are; a commit cut short is not", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  const child = await inChild(d, `j.add("first", () => ({ v: 1 })); j.flushSync();
     j.add("second", () => ({ v: 2 })); j.add("second-b", () => ({ v: 22 })); j.flushSync();
     j.add("third", () => ({ v: 3 })); j.flushSync(); process.kill(process.pid, "SIGKILL");`);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const path = join(d, journals(d)[0]!);
  const text = readFileSync(path, "utf8");
  assert.equal(linesOf(text).seals, 3);
  // A planted count in the second commit, and a last commit whose seal line never made it to the disk.
  writeFileSync(path, text.replace('"v":22', '"v":99') + '{"u":"torn","r":{"v":4}}\n');
  const [orphan] = orphanJournals(d, key(d));
  assert.deepEqual(orphan!.records.map((r) => r.uuid).sort(), ["first", "third"]);
  assert.equal(orphan!.corrupt, 3, "the altered commit's two lines and the unsealed one");
});

test("a commit found twice in a journal (written again while its first write waited for the thread pool) is read once: a later patch stands", async (t) => {
  const d = dir(t);
  createSpool({ dir: d });
  const child = await inChild(d, `j.add("r", () => ({ count: 1 })); j.flushSync();
     j.patch("r", () => ({ count: 5 })); j.flushSync(); process.kill(process.pid, "SIGKILL");`);
  assert.equal(child.signal, "SIGKILL", child.stderr);
  const path = join(d, journals(d)[0]!);
  const text = readFileSync(path, "utf8");
  const first = text.slice(0, text.indexOf("\n", text.indexOf('{"s":')) + 1);
  // The capture's commit again at the end, as the pool's write lands after the patch.
  appendFileSync(path, first);
  const [orphan] = orphanJournals(d, key(d));
  assert.deepEqual(orphan!.records, [{ uuid: "r", record: { count: 5 } }]);
  assert.equal(orphan!.corrupt, 0);
});
