// Other local users cannot make the app upload their choice of files: folder checks (leaf and ancestors, again
// before each operation) and records sealed with a per-spool key. A second real Unix user does the planting.
import { runNode } from "../helpers/child.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSpool } from "../../src/spool/spool.js";
import { openFatalFolder } from "../../src/spool/fatal-folder.js";
import { jsonBody, type Payload } from "../../src/payload.js";
import { BacktraceClient } from "../../src/index.js";
import { startReceiver } from "../helpers/http-receiver.js";

type T = { after: (fn: () => void) => void };

function payload(attachmentPath: string): Payload {
  const uuid = randomUUID();
  return { uuid, json: jsonBody(JSON.stringify({ uuid, a: 1 })), attachments: [{ name: "a.log", path: attachmentPath }] };
}

/** A folder only root can change (0755), removed after the test. */
function base(t: T): string {
  const dir = mkdtempSync(join(tmpdir(), "bt-spool-guard-"));
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A file only the victim (root here) can read: what a planted record would name. */
function victimSecret(dir: string): string {
  const path = join(dir, "victim-secret.txt");
  writeFileSync(path, "the victim's private data\n", { mode: 0o600 });
  return path;
}

/** A second real Unix user, created for this test and deleted after it. */
function otherUser(t: T): { name: string; uid: number; gid: number } {
  const name = `bt-other-${process.pid}`;
  execFileSync("useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", name]);
  t.after(() => void spawnSync("userdel", [name]));
  const uid = Number(execFileSync("id", ["-u", name]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", name]).toString().trim());
  return { name, uid, gid };
}

/** Runs a script as `user`, to its end. */
async function runAs(user: { uid: number; gid: number }, script: string): Promise<void> {
  const result = await runNode(["-e", script], { uid: user.uid, gid: user.gid, cwd: "/" });
  assert.equal(result.code, 0, `as the other user: ${result.stderr}`);
}

const plantedRecord = (uuid: string, path: string): string =>
  JSON.stringify({ v: 1, uuid, json: '{"planted":true}', attachments: [{ name: "loot.txt", path }] });

test("a spool folder under a folder another user owns is not used, and their swap after the start uploads nothing", async (t) => {
  const root = base(t);
  const secret = victimSecret(root);
  const other = otherUser(t);
  // A shared cache folder owned by the other user (a shared XDG_CACHE_HOME); the leaf itself is ours, 0700.
  const shared = join(root, "shared");
  mkdirSync(shared, { mode: 0o755 });
  chownSync(shared, other.uid, other.gid);
  const leaf = join(shared, "spool");
  const messages: string[] = [];
  const spool = createSpool({ dir: leaf, debug: (m) => messages.push(m) });
  assert.equal(spool.enabled, false, "an ancestor owned by another user makes the folder unsafe");
  assert.match(messages.join("\n"), new RegExp(`${shared} is owned by another user`));

  // The other user swaps our folder for theirs, with a record naming the victim's file.
  const uuid = randomUUID();
  await runAs(
    other,
    `const fs = require("node:fs"), path = require("node:path");
     fs.renameSync(${JSON.stringify(leaf)}, ${JSON.stringify(`${leaf}-old`)});
     fs.mkdirSync(${JSON.stringify(leaf)}, { mode: 0o777 });
     fs.chmodSync(${JSON.stringify(leaf)}, 0o777);
     fs.writeFileSync(path.join(${JSON.stringify(leaf)}, "000000000000001-000001-${uuid}.json"), ${JSON.stringify(plantedRecord(uuid, secret))});`,
  );
  assert.deepEqual(await spool.list(), []);
  assert.equal(spool.writeSync(payload(secret)), false);
});

test("a folder that becomes unsafe after the start is dropped before the next operation", async (t) => {
  const root = base(t);
  const secret = victimSecret(root);
  const leaf = join(root, "spool");
  const messages: string[] = [];
  const spool = createSpool({ dir: leaf, debug: (m) => messages.push(m) });
  assert.equal(spool.enabled, true);
  assert.equal(spool.writeSync(payload(secret)), true);
  // The leaf is swapped for a symbolic link to a folder holding a planted record and a temp-looking file.
  const elsewhere = join(root, "elsewhere");
  mkdirSync(elsewhere, { mode: 0o700 });
  const uuid = randomUUID();
  writeFileSync(join(elsewhere, `000000000000001-000001-${uuid}.json`), plantedRecord(uuid, secret));
  writeFileSync(join(elsewhere, ".tmp-keep-me"), "not the spool's to delete");
  renameSync(leaf, `${leaf}-old`);
  symlinkSync(elsewhere, leaf);
  assert.deepEqual(await spool.list(), [], "nothing listed from the swapped folder");
  assert.equal(spool.enabled, false);
  assert.match(messages.join("\n"), /is no longer safe \(a symbolic link\)/);
  assert.equal(existsSync(join(elsewhere, ".tmp-keep-me")), true, "files where the link points are left alone");
});

test("a symbolic link as the spool folder is refused at the start, and nothing where it points is touched", (t) => {
  const root = base(t);
  const target = join(root, "target");
  mkdirSync(target, { mode: 0o700 });
  const stale = join(target, ".tmp-123-abc");
  writeFileSync(stale, "old");
  const old = new Date(Date.now() - 3600_000);
  // Old enough that a spool listing the folder would delete it as a leftover temp file.
  execFileSync("touch", ["-d", old.toISOString(), stale]);
  const leaf = join(root, "spool");
  symlinkSync(target, leaf);
  const messages: string[] = [];
  const spool = createSpool({ dir: leaf, debug: (m) => messages.push(m) });
  assert.equal(spool.enabled, false);
  assert.match(messages.join("\n"), /a symbolic link/);
  assert.equal(existsSync(stale), true);
  assert.equal(existsSync(join(target, ".key")), false);
});

test("records are sealed with a per-spool key in a 0600 file; a planted, altered or foreign record is set aside, counted and never sent", async (t) => {
  const root = base(t);
  const secret = victimSecret(root);
  const dir = join(root, "spool");
  const first = createSpool({ dir });
  assert.equal(statSync(join(dir, ".key")).mode & 0o777, 0o600);
  const key = readFileSync(join(dir, ".key"), "utf8");
  assert.match(key, /^[0-9a-f]{64}$/);

  const good = payload(join(root, "app.log"));
  writeFileSync(join(root, "app.log"), "the app's own log\n");
  assert.equal(first.writeSync(good), true);
  const goodFile = readdirSync(dir).find((f) => f.endsWith(".json"))!;
  // Altered: a valid record with its attachment path changed.
  const altered = readFileSync(join(dir, goodFile), "utf8").replace(JSON.stringify(join(root, "app.log")), JSON.stringify(secret));
  const alteredUuid = randomUUID();
  writeFileSync(join(dir, `000000000000002-000001-${alteredUuid}.json`), altered.replace(good.uuid, alteredUuid));
  // Planted: no MAC at all.
  const plantedUuid = randomUUID();
  writeFileSync(join(dir, `000000000000003-000001-${plantedUuid}.json`), plantedRecord(plantedUuid, secret));
  // Foreign: sealed by another spool folder's key.
  const otherDir = join(root, "other-spool");
  const foreign = payload(secret);
  createSpool({ dir: otherDir }).writeSync(foreign);
  const foreignFile = readdirSync(otherDir).find((f) => f.endsWith(".json"))!;
  writeFileSync(join(dir, foreignFile), readFileSync(join(otherDir, foreignFile)));
  assert.equal(readFileSync(join(dir, ".key"), "utf8"), key, "the key is kept across spools over the folder");

  // The next start replays the folder to a real server.
  const receiver = await startReceiver();
  try {
    const client = new BacktraceClient({ endpoint: `http://127.0.0.1:${receiver.port}`, token: "t", disableGlobalHandler: true, spool: dir });
    await receiver.waitFor(1);
    await client.flush(5);
    const deadline = Date.now() + 5000;
    while (client.counters().dropped["spool-corrupt"] !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(receiver.requests.length, 1, "only the app's own record is sent");
    assert.equal((receiver.requests[0]!.report as { uuid: string }).uuid, good.uuid);
    for (const request of receiver.requests) assert.equal(request.body.includes(Buffer.from("victim's private data")), false);
    assert.equal(client.counters().dropped["spool-corrupt"], 3);
    assert.deepEqual(readdirSync(join(dir, "corrupt")).sort(), [`000000000000002-000001-${alteredUuid}.json`, `000000000000003-000001-${plantedUuid}.json`, foreignFile].sort());
    await client.finalize();
  } finally {
    await receiver.close();
  }
});

test("the fatal folder of a spool that passed its checks is checked at the leaf: a symbolic link or a folder others can write is refused", (t) => {
  const root = base(t);
  const dir = join(root, "spool");
  const spool = createSpool({ dir });
  assert.equal(spool.enabled, true);
  const uid = process.getuid?.();
  const made = openFatalFolder(dir, uid, true);
  assert.equal(made, join(dir, "fatal"));
  assert.equal(statSync(made).mode & 0o777, 0o700);
  rmSync(made, { recursive: true });
  const elsewhere = join(root, "elsewhere");
  mkdirSync(elsewhere, { mode: 0o700 });
  symlinkSync(elsewhere, join(dir, "fatal"));
  assert.equal(openFatalFolder(dir, uid, true), undefined, "a symbolic link");
  rmSync(join(dir, "fatal"));
  mkdirSync(join(dir, "fatal"), { mode: 0o700 });
  chmodSync(join(dir, "fatal"), 0o777);
  assert.equal(openFatalFolder(dir, uid, true), undefined, "writable by others");
});
