// What a spool knows of the records in its folder, oldest first with their bytes: read from the folder (claims of ended
// processes taken back, temp files of dead writers removed), kept up to date by writes and removals, the oldest evicted
// past the bounds, and deleted to make room for a record on a full disk.
import { readdirSync, renameSync, statSync, statfsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { mergedBeyondOwn } from "../payload.js";
import { TEMP_PREFIX } from "./record-io.js";
import { recordUuid, staleClaim } from "./spool-files.js";

/** One record on disk. Entries sort oldest first by `file`. */
export interface SpoolEntry {
  file: string;
  uuid: string;
  bytes: number;
  /** Occurrences the record stands for when duplicates were merged into it (> 1), when known (written by this process). */
  duplicates?: number | undefined;
}

export interface SpoolIndexOptions {
  dir: string;
  maxRecords: number;
  maxBytes: number;
  debug: (message: string) => void;
  now: () => number;
  /** The records the spool has claimed (original name to the claimed name): a scan leaves them, making room skips them. */
  claims: ReadonlyMap<string, string>;
}

const STALE_TEMP_MS = 10 * 60 * 1000;

/** The known records and their bytes, shared by the spool's writes and removals, the eviction and the full-disk retry. */
export interface SpoolIndex {
  /** The records known to be on disk, oldest first; changed only through the calls below. */
  readonly entries: readonly SpoolEntry[];
  /** Oldest records deleted to stay within maxRecords / maxBytes, or to make room on a full disk. */
  readonly evicted: number;
  /** Occurrences merged into the evicted records, beyond each record's own one (of the records whose count is known). */
  readonly evictedMerged: number;
  /** Forgets every record (the folder is no longer used). */
  clear(): void;
  /** Reads the folder again; throws when it cannot be read, and the index is then unchanged. */
  rescan(): void;
  /** A record just written. Past the bounds the oldest go first; the record just written is kept. */
  add(entry: SpoolEntry): void;
  /** A record removed, claimed by another process, or set aside. */
  forget(file: string): void;
  /** Deletes the oldest records (not claimed by this spool) until about `bytes` are free; how many went. */
  makeRoomSync(bytes: number): number;
}

export function createSpoolIndex({ dir, maxRecords, maxBytes, debug, now, claims }: SpoolIndexOptions): SpoolIndex {
  // Known records, oldest first.
  let index: SpoolEntry[] = [];
  let indexBytes = 0;
  let evicted = 0;
  let evictedMerged = 0;
  const evict = (entry: SpoolEntry): void => {
    evicted += 1;
    evictedMerged += mergedBeyondOwn(entry.duplicates);
  };

  const forget = (file: string): void => {
    const at = index.findIndex((entry) => entry.file === file);
    if (at >= 0) {
      indexBytes -= index[at]?.bytes ?? 0;
      index.splice(at, 1);
    }
  };

  return {
    get entries() {
      return index;
    },
    get evicted() {
      return evicted;
    },
    get evictedMerged() {
      return evictedMerged;
    },
    clear() {
      index = [];
      indexBytes = 0;
    },
    rescan() {
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
      // The counts of records this process wrote are kept: the file's name does not say them.
      const counts = new Map(index.filter((entry) => entry.duplicates !== undefined).map((entry) => [entry.file, entry.duplicates]));
      for (const entry of entries) if (counts.has(entry.file)) entry.duplicates = counts.get(entry.file);
      entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      indexBytes = entries.reduce((sum, e) => sum + e.bytes, 0);
      index = entries;
    },
    add(entry) {
      index.push(entry);
      indexBytes += entry.bytes;
      while (index.length > 1 && (index.length > maxRecords || indexBytes > maxBytes)) {
        const oldest = index.shift();
        if (!oldest) break;
        indexBytes -= oldest.bytes;
        evict(oldest);
        try {
          unlinkSync(join(dir, oldest.file));
        } catch {
          // Already gone (replayed by another process).
        }
        debug(`spool: full, dropped oldest report ${oldest.uuid}`);
      }
    },
    forget,
    makeRoomSync(bytes) {
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
        evict(oldest);
        debug(`spool: disk full, dropped oldest report ${oldest.uuid} to make room`);
      }
      return removed;
    },
  };
}
