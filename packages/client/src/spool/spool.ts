// The on-disk queue of payloads not sent yet: one file per record, atomic writes, bounded, corrupt records set aside.
import { spoolDefaults } from "../defaults.js";
import { accessSync, constants, mkdirSync, promises, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Journal } from "./journal.js";
import { createJournal } from "./journal-shared.js";
import { orphanJournals, removeJournal, type OrphanJournal } from "./journal-recovery.js";
import { loadKey, refuseVirtualFolder, seal, unsafeFolder, unseal } from "./spool-guard.js";
import { tempPath, writeRecordSync } from "./record-io.js";
import { claimName, parseRecord, recordName, recordText, recordUuid, safeUuid } from "./spool-files.js";
import { createSpoolIndex, type SpoolEntry } from "./spool-index.js";
import type { AttachmentRef, Payload } from "../payload.js";

export type { SpoolEntry };

export interface SpoolCounters {
  /** Records written. */
  written: number;
  /** Oldest records deleted to stay within maxRecords / maxBytes. */
  evicted: number;
  /** Occurrences merged into the evicted records beyond each one's own (records written by this process). */
  evictedMerged: number;
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
  const counters = { written: 0, failed: 0, corrupt: 0 };
  let scanned = false;
  let sequence = 0;
  // Records this spool has claimed: original name to the claimed name.
  const claims = new Map<string, string>();
  // Known records, oldest first; rebuilt by list(), kept up to date by writes and removals, evicted past the bounds.
  const index = createSpoolIndex({ dir, maxRecords, maxBytes, debug, now, claims });

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
    index.clear();
    debug(`spool disabled: ${dir} is no longer safe (${unsafe})`);
    return false;
  }

  /** What is on disk is read at the first operation, not when the spool opens: initialize does not list the folder. */
  function indexOnce(): void {
    if (scanned || !enabled) return;
    scanned = true;
    try {
      index.rescan();
    } catch (error) {
      enabled = false;
      debug(`spool disabled: cannot use ${dir} (${(error as Error).message})`);
    }
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
    return index.entries.some((entry) => entry.uuid === id);
  }

  function added(entry: SpoolEntry): void {
    counters.written += 1;
    index.add(entry);
  }

  function writeSync(payload: Payload): boolean {
    if (!guard()) return false;
    if (known(payload.uuid)) return true;
    const record = prepare(payload);
    if (!record) return false;
    const bytes = Buffer.from(record.text, "utf8");
    let failure = writeRecordSync(dir, record.file, bytes);
    // A full disk: the newest report (the crash path's) matters most, so older records make room for it, once.
    if (failure !== undefined && index.makeRoomSync(bytes.length) > 0) failure = writeRecordSync(dir, record.file, bytes);
    if (failure !== undefined) {
      counters.failed += 1;
      debug(`spool: could not write report ${payload.uuid}: ${failure.message}`);
      return false;
    }
    added({ file: record.file, uuid: safeUuid(payload.uuid), bytes: record.bytes, duplicates: payload.duplicates });
    return true;
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
    added({ file: record.file, uuid: safeUuid(payload.uuid), bytes: record.bytes, duplicates: payload.duplicates });
    return true;
  }

  async function list(): Promise<SpoolEntry[]> {
    if (!guard()) return [];
    try {
      scanned = true;
      index.rescan();
    } catch (error) {
      debug(`spool: cannot list ${dir}: ${(error as Error).message}`);
    }
    return index.entries.slice();
  }

  async function setAside(entry: SpoolEntry, why: string): Promise<void> {
    counters.corrupt += 1;
    debug(`spool: record ${entry.file} is ${why}; moved to corrupt/, never sent`);
    index.forget(entry.file);
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
      index.forget(entry.file);
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
      index.forget(entry.file);
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
    index.forget(entry.file);
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
    let files = index.entries.filter((e) => e.uuid === id).map((e) => e.file);
    if (files.length === 0) {
      // Written by another process or spool instance over the same folder.
      try {
        files = readdirSync(dir).filter((file) => recordUuid(file) === id);
      } catch {
        return;
      }
    }
    for (const file of files) {
      index.forget(file);
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
      return index.entries.length;
    },
    counters: () => ({ written: counters.written, evicted: index.evicted, evictedMerged: index.evictedMerged, failed: counters.failed, corrupt: counters.corrupt }),
  };
}
