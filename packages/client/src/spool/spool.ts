// The on-disk queue of payloads not sent yet: one file per record, atomic writes, bounded, corrupt records set aside.
import { spoolDefaults } from "../defaults.js";
import { accessSync, constants, mkdirSync, promises, readdirSync, renameSync, rmSync, statSync, statfsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { createJournal, type Journal } from "./journal.js";
import { orphanJournals, removeJournal, type OrphanJournal } from "./journal-recovery.js";
import { loadKey, refuseVirtualFolder, seal, unsafeFolder, unseal } from "./spool-guard.js";
import { TEMP_PREFIX, tempPath, writeRecordSync } from "./record-io.js";
import { claimName, parseRecord, recordName, recordText, recordUuid, safeUuid, staleClaim } from "./spool-files.js";
import type { AttachmentRef, Payload } from "../payload.js";

/** One record on disk. Entries sort oldest first by `file`. */
export interface SpoolEntry {
  file: string;
  uuid: string;
  bytes: number;
}

export interface SpoolCounters {
  /** Records written. */
  written: number;
  /** Oldest records deleted to stay within maxRecords / maxBytes. */
  evicted: number;
  /** Records that could not be written (disk full, record larger than maxBytes, spool disabled). */
  failed: number;
  /** Records moved to `corrupt/`. */
  corrupt: number;
}

export interface Spool {
  readonly dir: string;
  /** False when the directory could not be created or written; every call is then a no-op. */
  readonly enabled: boolean;
  /** Synchronous write, for the crash path. True when the record is on disk. */
  writeSync(payload: Payload): boolean;
  write(payload: Payload): Promise<boolean>;
  /** Records on disk, oldest first (rescans the directory). */
  list(): Promise<SpoolEntry[]>;
  /**
   * Claims the record and returns its payload: undefined when it is gone, claimed by another process
   * sharing the folder, or corrupt (then moved to `corrupt/`). A claimed record is hidden from every
   * other spool over the folder until it is removed or released.
   */
  read(entry: SpoolEntry): Promise<Payload | undefined>;
  /** Deletes the record (claimed or not). */
  remove(entry: SpoolEntry): Promise<void>;
  /** Gives a claimed record back, for a later pass or another process to send. */
  release(entry: SpoolEntry): Promise<void>;
  /** Gives every claimed record back at once: the process is ending. */
  releaseAllSync(): void;
  removeSync(uuid: string): void;
  /** This process's write-ahead journal in the folder (one per spool); undefined when the spool is off. */
  journal(): Journal | undefined;
  /** The key the spool seals its records with, once the folder passed its checks; undefined when the spool is off. */
  sealKey(): Buffer | undefined;
  /** Journals left by processes that ended, taken over for this one to recover, then to `removeJournal`. */
  orphanJournals(): OrphanJournal[];
  removeJournal(file: string): void;
  /** Records currently known to be on disk. */
  count(): number;
  counters(): SpoolCounters;
}

export interface SpoolOptions {
  dir: string;
  maxRecords?: number | undefined;
  maxBytes?: number | undefined;
  debug?: ((message: string) => void) | undefined;
  /** Clock for record names; defaulted so tests can order records. */
  now?: (() => number) | undefined;
  /** The user the process runs as, who must own the folder (POSIX); defaulted to `process.getuid()`, undefined on Windows. */
  uid?: number | undefined;
}


const STALE_TEMP_MS = 10 * 60 * 1000;


async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await promises.stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Opens (creating it if needed) a spool directory. Never throws: an unusable directory gives a disabled spool. */
export function createSpool(options: SpoolOptions): Spool {
  const dir = options.dir;
  const maxRecords = options.maxRecords ?? spoolDefaults.maxRecords;
  const maxBytes = options.maxBytes ?? spoolDefaults.maxBytes;
  const debug = options.debug ?? (() => undefined);
  const now = options.now ?? Date.now;
  const counters: SpoolCounters = { written: 0, evicted: 0, failed: 0, corrupt: 0 };
  // Known records, oldest first; rebuilt by list(), kept up to date by writes and removals.
  let index: SpoolEntry[] = [];
  let scanned = false;
  let indexBytes = 0;
  let sequence = 0;
  // Records this spool has claimed: original name to the claimed name.
  const claims = new Map<string, string>();

  const uid = "uid" in options ? options.uid : process.getuid?.();
  // Seals every record: one without a valid MAC was not written by a spool of this folder.
  let key: Buffer = Buffer.alloc(0);

  let enabled = true;
  try {
    if (dir === "") throw new Error("no folder left to try");
    refuseVirtualFolder(dir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const unsafe = unsafeFolder(dir, uid);
    if (unsafe !== undefined) throw new Error(`${unsafe}: anyone who can write there could plant a record whose attachments name any file`);
    accessSync(dir, constants.W_OK | constants.R_OK);
    key = loadKey(dir, uid);
  } catch (error) {
    enabled = false;
    debug(`spool disabled: cannot use ${dir} (${(error as Error).message})`);
  }

  /**
   * The folder checks again, before each operation that reads or writes records: an ancestor's owner could
   * have swapped the folder since the start. A folder that fails them turns the spool off.
   */
  function guard(): boolean {
    if (!enabled) return false;
    let unsafe: string | undefined;
    try {
      unsafe = unsafeFolder(dir, uid);
    } catch (error) {
      unsafe = (error as Error).message;
    }
    if (unsafe === undefined) {
      indexOnce();
      return enabled;
    }
    enabled = false;
    index = [];
    indexBytes = 0;
    debug(`spool disabled: ${dir} is no longer safe (${unsafe})`);
    return false;
  }

  /** What is on disk is read at the first operation, not when the spool opens: initialize does not list the folder. */
  function indexOnce(): void {
    if (scanned || !enabled) return;
    scanned = true;
    try {
      index = scanSync();
    } catch (error) {
      enabled = false;
      debug(`spool disabled: cannot use ${dir} (${(error as Error).message})`);
    }
  }

  function scanSync(): SpoolEntry[] {
    const entries: SpoolEntry[] = [];
    const cutoff = now() - STALE_TEMP_MS;
    const files = readdirSync(dir);
    for (const file of files) {
      // Claimed by a process that ended, or long ago, before it could send the record or give it back.
      const record = staleClaim(file, now());
      if (record !== undefined && claims.get(record) !== file) {
        try {
          renameSync(join(dir, file), join(dir, record));
          files.push(record);
        } catch {
          // Taken back by another process first.
        }
      }
    }
    for (const file of files) {
      if (file.startsWith(TEMP_PREFIX)) {
        // Left over by a process that died mid-write.
        try {
          if (statSync(join(dir, file)).mtimeMs < cutoff) unlinkSync(join(dir, file));
        } catch {
          // Another process may be removing it too.
        }
        continue;
      }
      const uuid = recordUuid(file);
      if (uuid === undefined) continue;
      try {
        entries.push({ file, uuid, bytes: statSync(join(dir, file)).size });
      } catch {
        // Removed meanwhile.
      }
    }
    entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    indexBytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    return entries;
  }

  function prepare(payload: Payload): { file: string; text: string; bytes: number } | undefined {
    const text = seal(recordText(payload), key);
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) {
      counters.failed += 1;
      debug(`spool: report ${payload.uuid} (${bytes} bytes) is larger than the spool (${maxBytes} bytes)`);
      return undefined;
    }
    sequence = (sequence + 1) % 1_000_000;
    const file = recordName(now(), sequence, payload.uuid);
    return { file, text, bytes };
  }

  function tempName(): string {
    return tempPath(dir);
  }

  function known(uuid: string): boolean {
    const id = safeUuid(uuid);
    return index.some((entry) => entry.uuid === id);
  }

  function added(entry: SpoolEntry): void {
    index.push(entry);
    indexBytes += entry.bytes;
    counters.written += 1;
    // Past the bounds the oldest go first; the record just written is kept.
    while (index.length > 1 && (index.length > maxRecords || indexBytes > maxBytes)) {
      const oldest = index.shift();
      if (!oldest) break;
      indexBytes -= oldest.bytes;
      counters.evicted += 1;
      try {
        unlinkSync(join(dir, oldest.file));
      } catch {
        // Already gone (replayed by another process).
      }
      debug(`spool: full, dropped oldest report ${oldest.uuid}`);
    }
  }

  function forget(file: string): void {
    const at = index.findIndex((entry) => entry.file === file);
    if (at >= 0) {
      indexBytes -= index[at]?.bytes ?? 0;
      index.splice(at, 1);
    }
  }

  function writeSync(payload: Payload): boolean {
    if (!guard()) return false;
    if (known(payload.uuid)) return true;
    const record = prepare(payload);
    if (!record) return false;
    const bytes = Buffer.from(record.text, "utf8");
    let failure = writeRecordSync(dir, record.file, bytes);
    // A full disk: the newest report (the crash path's) matters most, so older records make room for it, once.
    if (failure !== undefined && makeRoomSync(bytes.length) > 0) failure = writeRecordSync(dir, record.file, bytes);
    if (failure !== undefined) {
      counters.failed += 1;
      debug(`spool: could not write report ${payload.uuid}: ${failure.message}`);
      return false;
    }
    added({ file: record.file, uuid: safeUuid(payload.uuid), bytes: record.bytes });
    return true;
  }


  /** Deletes the oldest records (not claimed by this spool) until about `bytes` are free; how many went. */
  function makeRoomSync(bytes: number): number {
    let freed = 0;
    let removed = 0;
    // Space is given back in blocks: a record holds its size rounded up to a 4 KB page.
    const pages = (n: number): number => Math.ceil(n / 4096) * 4096;
    const need = bytes + 4096;
    try {
      // Records are not deleted for a report that would not fit even then.
      const stat = statfsSync(dir);
      const evictable = index.reduce((sum, entry) => sum + (claims.has(entry.file) ? 0 : pages(entry.bytes)), 0);
      if (stat.bavail * stat.bsize + evictable < need) return 0;
    } catch {
      // No statfs here: try anyway.
    }
    for (const oldest of [...index]) {
      if (freed >= need) break;
      if (claims.has(oldest.file)) continue;
      try {
        unlinkSync(join(dir, oldest.file));
      } catch {
        // Gone already (replayed by another process): its space is free too.
      }
      forget(oldest.file);
      freed += pages(oldest.bytes);
      removed += 1;
      counters.evicted += 1;
      debug(`spool: disk full, dropped oldest report ${oldest.uuid} to make room`);
    }
    return removed;
  }

  async function write(payload: Payload): Promise<boolean> {
    if (!guard()) return false;
    if (known(payload.uuid)) return true;
    const record = prepare(payload);
    if (!record) return false;
    const temp = tempName();
    let handle: promises.FileHandle | undefined;
    try {
      handle = await promises.open(temp, "wx", 0o600);
      await handle.writeFile(record.text);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await promises.rename(temp, join(dir, record.file));
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await promises.rm(temp, { force: true }).catch(() => undefined);
      counters.failed += 1;
      debug(`spool: could not write report ${payload.uuid}: ${(error as Error).message}`);
      return false;
    }
    added({ file: record.file, uuid: safeUuid(payload.uuid), bytes: record.bytes });
    return true;
  }

  async function list(): Promise<SpoolEntry[]> {
    if (!guard()) return [];
    try {
      scanned = true;
      index = scanSync();
    } catch (error) {
      debug(`spool: cannot list ${dir}: ${(error as Error).message}`);
    }
    return index.slice();
  }

  async function setAside(entry: SpoolEntry, why: string): Promise<void> {
    counters.corrupt += 1;
    debug(`spool: record ${entry.file} is ${why}; moved to corrupt/, never sent`);
    forget(entry.file);
    try {
      await promises.mkdir(join(dir, "corrupt"), { recursive: true, mode: 0o700 });
      await promises.rename(join(dir, entry.file), join(dir, "corrupt", entry.file));
    } catch {
      await promises.rm(join(dir, entry.file), { force: true }).catch(() => undefined);
    }
  }

  async function claim(entry: SpoolEntry): Promise<string | undefined> {
    const known = claims.get(entry.file);
    if (known !== undefined) return known;
    const claimed = claimName(entry.file, now());
    try {
      // Atomic: of the processes sharing the folder, one renames the record; the others find it gone.
      await promises.rename(join(dir, entry.file), join(dir, claimed));
    } catch {
      forget(entry.file);
      return undefined;
    }
    claims.set(entry.file, claimed);
    return claimed;
  }

  async function read(entry: SpoolEntry): Promise<Payload | undefined> {
    if (!guard()) return undefined;
    const claimed = await claim(entry);
    if (claimed === undefined) return undefined;
    let text: string;
    try {
      text = await promises.readFile(join(dir, claimed), "utf8");
    } catch {
      claims.delete(entry.file);
      forget(entry.file);
      return undefined;
    }
    const verified = unseal(text, key);
    const payload = verified === undefined ? undefined : parseRecord(verified);
    if (!payload || safeUuid(payload.uuid) !== entry.uuid) {
      await release(entry);
      await setAside(entry, verified === undefined ? "its MAC does not verify (not written by this spool, or altered)" : "corrupt");
      return undefined;
    }
    // A device, FIFO or folder would hang or fail the upload; the transport checks again when it opens the file.
    const attachments: AttachmentRef[] = [];
    for (const attachment of payload.attachments) {
      if (attachment.path === undefined || (await isRegularFile(attachment.path))) attachments.push(attachment);
      else debug(`spool: record ${entry.file}: attachment ${attachment.path} is not a regular file, left out`);
    }
    return { ...payload, attachments };
  }

  async function remove(entry: SpoolEntry): Promise<void> {
    if (!enabled) return;
    forget(entry.file);
    const claimed = claims.get(entry.file);
    claims.delete(entry.file);
    await promises.rm(join(dir, claimed ?? entry.file), { force: true }).catch(() => undefined);
  }

  function releaseAllSync(): void {
    for (const [file, claimed] of claims) {
      try {
        renameSync(join(dir, claimed), join(dir, file));
      } catch {
        // Removed meanwhile; a claim left behind is taken back by the next process anyway.
      }
    }
    claims.clear();
  }

  async function release(entry: SpoolEntry): Promise<void> {
    const claimed = claims.get(entry.file);
    if (!enabled || claimed === undefined) return;
    claims.delete(entry.file);
    await promises.rename(join(dir, claimed), join(dir, entry.file)).catch(() => undefined);
  }

  function removeSync(uuid: string): void {
    if (!enabled) return;
    const id = safeUuid(uuid);
    let files = index.filter((e) => e.uuid === id).map((e) => e.file);
    if (files.length === 0) {
      // Written by another process or spool instance over the same folder.
      try {
        files = readdirSync(dir).filter((file) => recordUuid(file) === id);
      } catch {
        return;
      }
    }
    for (const file of files) {
      forget(file);
      try {
        rmSync(join(dir, file), { force: true });
      } catch {
        // Best effort.
      }
    }
  }

  let journal: Journal | undefined;
  return {
    journal: () => (enabled ? (journal ??= createJournal({ dir, key, safe: guard, debug, now })) : undefined),
    orphanJournals: () => (guard() ? orphanJournals(dir, key, now()) : []),
    removeJournal: (file) => removeJournal(dir, file),
    sealKey: () => (enabled ? key : undefined),
    dir,
    get enabled() {
      return enabled;
    },
    writeSync,
    write,
    list,
    read,
    remove,
    release,
    releaseAllSync,
    removeSync,
    count: () => {
      indexOnce();
      return index.length;
    },
    counters: () => ({ ...counters }),
  };
}
