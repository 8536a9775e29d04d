// The synchronous spool write on a nearly full disk (a real 64 KB tmpfs): the record is whole or not there,
// and older records make room for the newest one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { createSpool } from "../../src/spool/spool.js";
import { jsonBody, jsonText, type Payload } from "../../src/payload.js";

function payloadOf(bytes: number): Payload {
  return { uuid: randomUUID(), json: jsonBody(JSON.stringify({ pad: "x".repeat(bytes) })), attachments: [] };
}

/** A 64 KB tmpfs, unmounted and removed after the test. */
function smallDisk(t: { after: (fn: () => void) => void }): string {
  const mount = mkdtempSync(join(tmpdir(), "bt-spool-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mount]);
  t.after(() => {
    execFileSync("umount", [mount]);
    rmSync(mount, { recursive: true, force: true });
  });
  return mount;
}

function freeBytes(path: string): number {
  const stat = statfsSync(path);
  return stat.bavail * stat.bsize;
}

let clock = 1_700_000_000_000;
const ticking = (): number => clock++;

test("writeSync on a nearly full disk writes the crash record whole, evicting older records first", (t) => {
  const dir = join(smallDisk(t), "spool");
  const spool = createSpool({ dir, now: ticking });
  assert.equal(spool.enabled, true);
  // Older records fill the disk until less than one crash record's room is left.
  const older: Payload[] = [];
  while (freeBytes(dir) > 12 * 1024) {
    const filler = payloadOf(7 * 1024);
    assert.equal(spool.writeSync(filler), true);
    older.push(filler);
  }
  const free = freeBytes(dir);
  const crash = payloadOf(free + 6 * 1024);
  assert.equal(spool.writeSync(crash), true, "the crash record is stored");

  // What the next start finds: the crash record, whole and not set aside as corrupt.
  const next = createSpool({ dir, now: ticking });
  return (async () => {
    const entries = await next.list();
    const found = entries.find((entry) => entry.uuid === crash.uuid);
    assert.ok(found, "the crash record is listed");
    const read = await next.read(found);
    assert.ok(read, "the crash record reads back (not corrupt)");
    assert.equal(jsonText(read.json), jsonText(crash.json));
    assert.equal(next.counters().corrupt, 0);
    assert.deepEqual(readdirSync(dir).filter((file) => file.startsWith(".tmp-")), [], "no temp file left");
    // Older records went to make room, oldest first, and were counted.
    assert.ok(spool.counters().evicted >= 1);
    const kept = new Set(entries.map((entry) => entry.uuid));
    assert.equal(kept.has(older[0]!.uuid), false, "the oldest record made room");
    assert.equal(kept.has(older[older.length - 1]!.uuid), true, "the newest older record is kept");
  })();
});

test("writeSync of a record larger than the whole disk fails cleanly: nothing half-written, nothing evicted", async (t) => {
  const dir = join(smallDisk(t), "spool");
  const spool = createSpool({ dir, now: ticking });
  const keep = payloadOf(1024);
  assert.equal(spool.writeSync(keep), true);
  assert.equal(spool.writeSync(payloadOf(128 * 1024)), false);
  assert.equal(spool.counters().failed, 1);
  assert.deepEqual(readdirSync(dir).filter((file) => file.startsWith(".tmp-")), []);
  const next = createSpool({ dir, now: ticking });
  const entries = await next.list();
  assert.deepEqual(entries.map((entry) => entry.uuid), [keep.uuid], "nothing was evicted for a record that could never fit");
  assert.ok(await next.read(entries[0]!), "the older record reads back");
  assert.equal(next.counters().corrupt, 0);
});
