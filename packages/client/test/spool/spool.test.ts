import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { createSpool, type Spool } from "../../src/spool/spool.js";
import { defaultSpoolDir } from "../../src/spool/spool-location.js";
import type { Payload } from "../../src/payload.js";
import { jsonBody, jsonText } from "../../src/payload.js";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "bt-spool-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const attachmentDir = mkdtempSync(join(tmpdir(), "bt-spool-attachments-"));
const attachmentFile = join(attachmentDir, "a.log");
writeFileSync(attachmentFile, "log line\n");
process.on("exit", () => rmSync(attachmentDir, { recursive: true, force: true }));

function payload(json = '{"a":1}'): Payload {
  return { uuid: randomUUID(), json: jsonBody(json), attachments: [{ name: "a.log", path: attachmentFile }] };
}

/** A clock that moves one millisecond per call, so record order is certain. */
function ticking(start = 1_700_000_000_000): () => number {
  let now = start;
  return () => now++;
}

async function uuids(spool: Spool): Promise<string[]> {
  return (await spool.list()).map((e) => e.uuid);
}

test("writes records that list oldest first and read back unchanged", async (t) => {
  const dir = tempDir(t);
  const spool = createSpool({ dir, now: ticking() });
  const first = payload();
  const second = payload('{"b":2}');
  const third = payload();
  assert.equal(spool.writeSync(first), true);
  assert.equal(await spool.write(second), true);
  assert.equal(spool.writeSync(third), true);
  const entries = await spool.list();
  assert.deepEqual(
    entries.map((e) => e.uuid),
    [first.uuid, second.uuid, third.uuid],
  );
  assert.deepEqual(await spool.read(entries[1]!), second);
  const { mac, ...onDisk } = JSON.parse(readFileSync(join(dir, entries[0]!.file), "utf8"));
  assert.deepEqual(onDisk, { v: 1, uuid: first.uuid, json: jsonText(first.json), attachments: first.attachments });
  assert.match(mac, /^[0-9a-f]{64}$/, "sealed with the spool's key");
  assert.equal(spool.count(), 3);
});

test("a second spool over the same folder sees the records (next start)", async (t) => {
  const dir = tempDir(t);
  const sent = payload();
  createSpool({ dir }).writeSync(sent);
  const later = createSpool({ dir });
  assert.equal(later.count(), 1);
  const [entry] = await later.list();
  assert.deepEqual(await later.read(entry!), sent);
});

test("writes go through a temporary file and rename: no partial record is ever listed", async (t) => {
  const dir = tempDir(t);
  // What a process killed mid-write leaves behind: a temp file, never a half record under a record name.
  writeFileSync(join(dir, ".tmp-999-abc"), '{"v":1,"uuid":"trunc');
  const old = new Date(Date.now() - 60 * 60 * 1000);
  utimesSync(join(dir, ".tmp-999-abc"), old, old);
  const spool = createSpool({ dir });
  assert.deepEqual(await spool.list(), []);
  assert.equal(existsSync(join(dir, ".tmp-999-abc")), false, "stale temp file cleaned");
  spool.writeSync(payload());
  await spool.write(payload());
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(".tmp-")),
    [],
  );
  assert.equal((await spool.list()).length, 2);
});

test("writing the same uuid twice keeps one record", async (t) => {
  const spool = createSpool({ dir: tempDir(t) });
  const sent = payload();
  assert.equal(spool.writeSync(sent), true);
  assert.equal(await spool.write(sent), true);
  assert.equal((await spool.list()).length, 1);
});

test("past maxRecords the oldest records are deleted and counted", async (t) => {
  const spool = createSpool({ dir: tempDir(t), maxRecords: 3, now: ticking() });
  const written = [payload(), payload(), payload(), payload(), payload()];
  for (const p of written) spool.writeSync(p);
  assert.deepEqual(
    await uuids(spool),
    written.slice(2).map((p) => p.uuid),
  );
  assert.equal(spool.counters().evicted, 2);
  assert.equal(spool.counters().written, 5);
});

test("past maxBytes the oldest records are deleted and counted; a record larger than the spool is refused", async (t) => {
  const one = JSON.stringify({ v: 1, uuid: randomUUID(), json: "x".repeat(1000), attachments: [], mac: "0".repeat(64) }).length;
  const spool = createSpool({ dir: tempDir(t), maxBytes: one * 2 + 10, now: ticking() });
  const written = [payload("x".repeat(1000)), payload("x".repeat(1000)), payload("x".repeat(1000))];
  for (const p of written) await spool.write({ ...p, attachments: [] });
  assert.deepEqual(
    await uuids(spool),
    written.slice(1).map((p) => p.uuid),
  );
  assert.equal(spool.counters().evicted, 1);
  assert.equal(spool.writeSync(payload("y".repeat(one * 3))), false);
  assert.equal(spool.counters().failed, 1);
});

test("a corrupt record is moved to corrupt/ and never throws", async (t) => {
  const dir = tempDir(t);
  const spool = createSpool({ dir, now: ticking() });
  const good = payload();
  spool.writeSync(good);
  const bad = `000000000000001-000001-${randomUUID()}.json`;
  const wrongShape = `000000000000002-000001-${randomUUID()}.json`;
  writeFileSync(join(dir, bad), "{not json");
  writeFileSync(join(dir, wrongShape), JSON.stringify({ v: 2, hello: "world" }));
  const entries = await spool.list();
  assert.equal(entries.length, 3);
  const read = await Promise.all(entries.map((e) => spool.read(e)));
  assert.deepEqual(read, [undefined, undefined, good]);
  assert.deepEqual(readdirSync(join(dir, "corrupt")).sort(), [bad, wrongShape].sort());
  spool.releaseAllSync(); // the good record was claimed by its read
  assert.deepEqual(await uuids(spool), [good.uuid]);
  assert.equal(spool.counters().corrupt, 2);
});

test("remove and removeSync delete records", async (t) => {
  const spool = createSpool({ dir: tempDir(t), now: ticking() });
  const a = payload();
  const b = payload();
  spool.writeSync(a);
  spool.writeSync(b);
  const [first] = await spool.list();
  await spool.remove(first!);
  spool.removeSync(b.uuid);
  assert.deepEqual(await spool.list(), []);
  assert.equal(spool.count(), 0);
});

test("removeSync finds a record written by another spool over the same folder", async (t) => {
  const dir = tempDir(t);
  const reader = createSpool({ dir });
  const sent = payload();
  createSpool({ dir }).writeSync(sent);
  reader.removeSync(sent.uuid);
  assert.deepEqual(readdirSync(dir), [".key"], "only the spool's key is left");
});

test("an unusable directory makes the spool a no-op with a debug message", async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, "a-file"), "");
  const messages: string[] = [];
  const spool = createSpool({ dir: join(dir, "a-file", "spool"), debug: (m) => messages.push(m) });
  assert.equal(spool.enabled, false);
  assert.equal(spool.writeSync(payload()), false);
  assert.equal(await spool.write(payload()), false);
  assert.deepEqual(await spool.list(), []);
  spool.removeSync("x");
  assert.equal(messages.length, 1);
  assert.match(messages[0] ?? "", /spool disabled/);
});

test("defaultSpoolDir is a per-user cache folder keyed by a hash of the URL, never the token", () => {
  const url = "https://submit.backtrace.io/uni/secrettoken123/json";
  const linux = defaultSpoolDir(url, {}, "linux", "/home/u");
  assert.match(linux, /^\/home\/u\/\.cache\/backtrace-ts\/spool\/[0-9a-f]{16}$/);
  assert.equal(defaultSpoolDir(url, { XDG_CACHE_HOME: "/xdg" }, "linux", "/home/u").startsWith("/xdg/backtrace-ts/spool/"), true);
  assert.equal(defaultSpoolDir(url, {}, "darwin", "/Users/u").startsWith("/Users/u/Library/Caches/backtrace-ts/spool/"), true);
  assert.match(defaultSpoolDir(url, { LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "win32", "C:\\Users\\u"), /backtrace-ts[\\/]spool/);
  assert.doesNotMatch(linux, /secrettoken123/);
  assert.notEqual(defaultSpoolDir(url + "x", {}, "linux", "/home/u"), linux);
});

test("a folder writable by group or others is not used: spool disabled with a debug message", { skip: process.platform === "win32" }, async (t) => {
  for (const mode of [0o770, 0o707, 0o1777]) {
    const dir = join(tempDir(t), "spool");
    mkdirSync(dir);
    chmodSync(dir, mode);
    // A record someone else planted there, naming a file the app can read.
    writeFileSync(join(dir, `000000000000001-000001-${randomUUID()}.json`), JSON.stringify({ v: 1, uuid: "x", json: "{}", attachments: [{ name: "p", path: "/etc/passwd" }] }));
    const messages: string[] = [];
    const spool = createSpool({ dir, debug: (m) => messages.push(m) });
    assert.equal(spool.enabled, false, mode.toString(8));
    assert.deepEqual(await spool.list(), []);
    assert.equal(spool.writeSync(payload()), false);
    assert.match(messages[0] ?? "", /spool disabled: .*writable by group or others/);
  }
});

test("a folder owned by another user is not used; one of our own with mode 700 is", { skip: process.platform === "win32" }, async (t) => {
  const dir = tempDir(t);
  const owner = statSync(dir).uid;
  const messages: string[] = [];
  const theirs = createSpool({ dir, uid: owner + 1, debug: (m) => messages.push(m) });
  assert.equal(theirs.enabled, false);
  assert.match(messages[0] ?? "", /spool disabled: .*owned by another user/);
  chmodSync(dir, 0o700);
  assert.equal(createSpool({ dir, uid: owner }).enabled, true);
  assert.equal(createSpool({ dir }).enabled, true);
  // A folder the spool creates itself is ours and private.
  const created = join(dir, "new", "spool");
  assert.equal(createSpool({ dir: created }).enabled, true);
  assert.equal(statSync(created).mode & 0o077, 0);
});

test("on replay, attachment paths that are not regular files are left out of the record", async (t) => {
  const dir = tempDir(t);
  const folder = join(dir, "a-folder");
  mkdirSync(folder);
  const messages: string[] = [];
  const spool = createSpool({ dir, debug: (m) => messages.push(m) });
  const sent: Payload = {
    uuid: randomUUID(),
    json: jsonBody("{}"),
    attachments: [
      { name: "a.log", path: attachmentFile },
      { name: "zero", path: "/dev/zero" },
      { name: "folder", path: folder },
      { name: "gone", path: join(dir, "missing.log") },
    ],
  };
  spool.writeSync(sent);
  const [entry] = await spool.list();
  assert.deepEqual((await spool.read(entry!))?.attachments, [{ name: "a.log", path: attachmentFile }]);
  assert.equal(messages.filter((m) => /not a regular file/.test(m)).length, 3);
});

test("a record read is claimed: hidden from every other spool over the folder until removed or released", async (t) => {
  const dir = tempDir(t);
  const a = createSpool({ dir, now: ticking() });
  const b = createSpool({ dir, now: ticking(1_700_000_001_000) });
  const first = payload();
  const second = payload();
  a.writeSync(first);
  a.writeSync(second);
  const [one, two] = await a.list();
  assert.ok(one && two);
  assert.equal((await a.read(one))?.uuid, first.uuid);
  assert.deepEqual(await uuids(b), [second.uuid], "the claimed record is not listed by another spool");
  assert.equal(await b.read(one), undefined, "nor can it be read there");
  assert.deepEqual(await uuids(a), [second.uuid], "nor listed again by its own spool while claimed");
  await a.release(one);
  assert.deepEqual(await uuids(b), [first.uuid, second.uuid]);
  assert.equal((await b.read(one))?.uuid, first.uuid);
  await b.remove(one);
  assert.equal((await a.read(two))?.uuid, second.uuid);
  a.releaseAllSync();
  assert.deepEqual(await uuids(b), [second.uuid]);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".claim-")), []);
});

test("claims left by an ended process, or older than ten minutes, are taken back; a live process's are not", async (t) => {
  const dir = tempDir(t);
  const clock = ticking();
  const spool = createSpool({ dir, now: clock });
  const records = [payload(), payload(), payload(), payload()];
  for (const p of records) spool.writeSync(p);
  const files = (await spool.list()).map((e) => e.file);
  const { spawnSync } = await import("node:child_process");
  const ended = spawnSync(process.execPath, ["-e", ""]).pid; // a process that has exited
  const at = clock();
  const claims = [
    `.claim-${ended}-aaaaaaaa-${at}-${files[0]}`, // its process has ended
    `.claim-${process.pid}-bbbbbbbb-${at}-${files[1]}`, // our pid, an earlier process's session
    `.claim-${process.ppid}-cccccccc-${at - 11 * 60 * 1000}-${files[2]}`, // live, but ten minutes old
    `.claim-${process.ppid}-dddddddd-${at}-${files[3]}`, // live and recent: being sent right now
  ];
  const { renameSync } = await import("node:fs");
  files.forEach((file, i) => renameSync(join(dir, file), join(dir, claims[i]!)));
  assert.deepEqual(await uuids(spool), records.slice(0, 3).map((p) => p.uuid));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(".claim-")), [claims[3]]);
});

test("a spool folder in a kernel file system is refused at once (Node's recursive mkdir under /proc never returns)", () => {
  const messages: string[] = [];
  const spool = createSpool({ dir: "/proc/no-such-process/backtrace", debug: (m) => messages.push(m) });
  assert.equal(spool.enabled, false);
  assert.match(messages.join("\n"), /kernel file system/);
});
