// Where the default spool goes when the process has no home directory (a uid without a passwd entry, no HOME).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNode, type ChildResult } from "../helpers/child.js";
import { spoolDirCandidates } from "../../src/spool/spool-location.js";

const fixture = fileURLToPath(new URL("../fixtures/spool/no-home.cjs", import.meta.url));
// A uid with no passwd entry: os.homedir() and os.userInfo() throw for it once HOME is unset.
const NO_PASSWD_UID = 12345;

function runAs(uid: number, env: Record<string, string | undefined>): Promise<ChildResult> {
  return runNode([fixture], { uid, gid: uid, env, cwd: "/" });
}

/** A folder tree the other uid can walk: base (0755), `owned` (its own), `shared` (like /tmp: root, 1777), `locked` (root, 0755). */
function places(t: { after: (fn: () => void) => void }): { base: string; owned: string; shared: string; locked: string } {
  const base = mkdtempSync(join(tmpdir(), "bt-spool-home-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  chmodSync(base, 0o755);
  const owned = join(base, "owned");
  const shared = join(base, "shared");
  const locked = join(base, "locked");
  mkdirSync(owned, { mode: 0o700 });
  chownSync(owned, NO_PASSWD_UID, NO_PASSWD_UID);
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  mkdirSync(locked, { mode: 0o755 });
  return { base, owned, shared, locked };
}

function only(folder: string): string {
  const entries = readdirSync(folder);
  assert.equal(entries.length, 1, `one spool folder in ${folder}: ${entries.join(", ")}`);
  return join(folder, entries[0]!);
}

test("without a home directory the spool goes to XDG_CACHE_HOME and initialize does not throw", async (t) => {
  const { owned, locked } = places(t);
  const result = await runAs(NO_PASSWD_UID, { HOME: undefined, XDG_CACHE_HOME: owned, TMPDIR: locked });
  assert.equal(result.code, 0, `${result.stdout} ${result.stderr}`);
  assert.deepEqual(JSON.parse(result.stdout), { spoolDisabled: false });
  const spool = only(join(owned, "backtrace-ts", "spool"));
  assert.equal(statSync(spool).uid, NO_PASSWD_UID);
  assert.equal(statSync(spool).mode & 0o777, 0o700);
});

test("without a home directory and an unusable XDG_CACHE_HOME the spool goes to a 0700 per-user folder under the temp folder", async (t) => {
  const { shared, locked } = places(t);
  const result = await runAs(NO_PASSWD_UID, { HOME: undefined, XDG_CACHE_HOME: locked, TMPDIR: shared });
  assert.equal(result.code, 0, `${result.stdout} ${result.stderr}`);
  assert.deepEqual(JSON.parse(result.stdout), { spoolDisabled: false });
  const user = join(shared, `backtrace-ts-${NO_PASSWD_UID}`);
  assert.equal(statSync(user).uid, NO_PASSWD_UID);
  assert.equal(statSync(user).mode & 0o777, 0o700);
  assert.equal(statSync(only(join(user, "spool"))).mode & 0o777, 0o700);
  assert.equal(existsSync(join(locked, "backtrace-ts")), false);
});

test("with no usable folder at all the spool is off, said in debug and flagged in counters", async (t) => {
  const { locked } = places(t);
  const result = await runAs(NO_PASSWD_UID, { HOME: undefined, XDG_CACHE_HOME: undefined, TMPDIR: locked });
  assert.equal(result.code, 0, `${result.stdout} ${result.stderr}`);
  assert.deepEqual(JSON.parse(result.stdout), { spoolDisabled: true });
  assert.match(result.stderr, /no usable spool folder: the spool is off/);
});

test("spoolDirCandidates leaves out what needs a home directory that cannot be found", () => {
  const url = "https://host/post?token=secret";
  const noHome = (): string => {
    throw new Error("ENOENT: no such file or directory, uv_os_homedir");
  };
  const linux = spoolDirCandidates(url, { env: { XDG_CACHE_HOME: "/xdg" }, platform: "linux", home: noHome, tmp: () => "/tmp", uid: 7 });
  assert.equal(linux.length, 2);
  assert.match(linux[0]!, /^\/xdg\/backtrace-ts\/spool\/[0-9a-f]{16}$/);
  assert.match(linux[1]!, /^\/tmp\/backtrace-ts-7\/spool\/[0-9a-f]{16}$/);
  // A relative XDG_CACHE_HOME is ignored, as the XDG spec says.
  assert.deepEqual(spoolDirCandidates(url, { env: { XDG_CACHE_HOME: "rel" }, platform: "linux", home: noHome, tmp: () => "/tmp", uid: 7 }), [linux[1]]);
});
