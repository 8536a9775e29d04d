// What keeps other local users out of a spool folder: the folder and its ancestors checked, and records sealed with a per-spool key.
import { chmodSync, closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { lazyCrypto, loadedCrypto, randomHex } from "../builtins.js";
import { hmacSha256Hex } from "./sha256.js";
import { dirname, join, resolve } from "node:path";

/** The key's file inside the spool folder; a dot name, so it is never taken for a record. */
export const KEY_FILE = ".key";
const KEY_BYTES = 32;

/**
 * Throws for a folder in a kernel file system (/proc, /sys, /dev): nothing can be spooled there, and Node's
 * recursive mkdir under /proc never returns (it loops). Checked before the folder is made.
 */
export function refuseVirtualFolder(dir: string): void {
  const absolute = resolve(dir);
  if (/^\/(proc|sys|dev)(\/|$)/.test(absolute)) throw new Error(`${absolute} is in a kernel file system`);
}

/**
 * Why the folder must not be used (POSIX), or undefined when only we (and root) can change what is in it.
 * - The leaf is `lstat`ed: a symbolic link is refused (the client would read and delete files where it points);
 *   it must be a folder owned by `uid`, not writable by group or others. Group/other read bits of our own
 *   folder are taken away (chmod 0700) rather than refused: nobody else could have written there.
 * - Every ancestor, of the path as written and of its real path, must be owned by `uid` or root and not
 *   writable by group or others unless sticky (`/tmp`): whoever can rename entries in an ancestor can swap the
 *   leaf for a folder of their own, with records naming the victim's files.
 * `uid` undefined (Windows) checks nothing: there are no POSIX owners and mode bits.
 */
export function unsafeFolder(dir: string, uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  const leaf = unsafeLeaf(dir, uid);
  if (leaf !== undefined) return leaf;
  const absolute = resolve(dir);
  const parents = new Set([...ancestors(absolute), ...ancestors(join(realpathSync(dirname(absolute)), "leaf"))]);
  for (const parent of parents) {
    const stat = statSync(parent);
    if (stat.uid !== uid && stat.uid !== 0) return `${parent} is owned by another user (uid ${stat.uid})`;
    if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) {
      return `${parent} is writable by group or others (mode ${(stat.mode & 0o777).toString(8)}) and not sticky`;
    }
  }
  return undefined;
}

/**
 * The leaf's part of `unsafeFolder` alone: enough for a folder made inside one that `unsafeFolder` just passed
 * (the spool's `fatal/`), whose ancestors are that folder and its ancestors.
 */
export function unsafeLeaf(dir: string, uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  const leaf = lstatSync(dir);
  if (leaf.isSymbolicLink()) return "a symbolic link";
  if (!leaf.isDirectory()) return "not a folder";
  if (leaf.uid !== uid) return `owned by another user (uid ${leaf.uid})`;
  if ((leaf.mode & 0o022) !== 0) return `writable by group or others (mode ${(leaf.mode & 0o777).toString(8)})`;
  if ((leaf.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return undefined;
}

/** The folders above `path`, nearest first, up to the root. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let at = dirname(path); ; at = dirname(at)) {
    out.push(at);
    if (dirname(at) === at) return out;
  }
}

/**
 * The spool's key: read from `<dir>/.key`, or made at first use (random, 0600, linked into place so that
 * processes sharing the folder all end up with the same one). Throws when the file is not ours or not a key.
 */
export function loadKey(dir: string, uid: number | undefined): Buffer {
  const path = join(dir, KEY_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    // A missing key (a new folder) is told without an exception: the first one a process throws costs it about 0.2 ms.
    if (lstatSync(path, { throwIfNoEntry: false }) !== undefined) {
      try {
        return readKey(path, uid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    // The key and the temporary file's name from one read of the random source.
    const random = randomHex(KEY_BYTES + 6);
    const key = random.slice(0, KEY_BYTES * 2);
    const temp = join(dir, `.tmp-key-${process.pid}-${random.slice(KEY_BYTES * 2)}`);
    writeFileSync(temp, key, { mode: 0o600, flag: "wx" });
    try {
      linkSync(temp, path);
      // Linked: the key file is the one just made (new, ours, 0600 at most), so it is not read back.
      return Buffer.from(key, "hex");
    } catch (error) {
      // Another process made it first: use theirs.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      removeQuietly(temp);
    }
  }
  return readKey(path, uid);
}

/** Deletes a file, gone already or not (unlinkSync: rmSync would load Node's recursive remover at initialize). */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Not there: nothing to do.
  }
}

function readKey(path: string, uid: number | undefined): Buffer {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error("the spool key is not a regular file");
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o077) !== 0)) throw new Error("the spool key is not ours alone (owner or mode)");
    const text = readFileSync(fd, "utf8");
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error("the spool key file does not hold a key");
    return Buffer.from(text, "hex");
  } finally {
    closeSync(fd);
  }
}

// A sealed record is the record's JSON with one last field, the MAC of the JSON before it was added.
const SEAL = /,"mac":"([0-9a-f]{64})"\}$/;

/** The record text with its MAC (HMAC-SHA256 under the spool's key) as a last field. */
export function seal(text: string, key: Buffer): string {
  return `${text.slice(0, -1)},"mac":"${mac(text, key)}"}`;
}

/** The record text as it was sealed, or undefined when there is no MAC or it does not verify (planted or altered). */
export function unseal(sealed: string, key: Buffer): string | undefined {
  const found = SEAL.exec(sealed);
  if (found === null) return undefined;
  const text = `${sealed.slice(0, found.index)}}`;
  return sameText(mac(text, key), found[1]!) ? text : undefined;
}

/** Compares two hex MACs of equal length in time that does not depend on where they differ. */
export function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Past this many characters node:crypto is loaded for the MAC: the JavaScript HMAC runs about 15 times slower. */
const JS_MAC_LIMIT = 64 * 1024;

// node:crypto's HMAC once the client has loaded node:crypto (a report's uuid does); before that (the fatal-error
// record written at initialize) the same HMAC in JavaScript, so that initialize does not load node:crypto. A long
// text (a spooled report or a journal replayed at start) loads node:crypto: the main thread is not held up by it.
/** HMAC-SHA256 of `text` under `key`, in hex. */
export function mac(text: string | Uint8Array, key: Buffer): string {
  const crypto = loadedCrypto() ?? (text.length > JS_MAC_LIMIT ? lazyCrypto() : undefined);
  if (crypto === undefined) return hmacSha256Hex(key, text);
  const hmac = crypto.createHmac("sha256", key);
  return (typeof text === "string" ? hmac.update(text, "utf8") : hmac.update(text)).digest("hex");
}
