// Journals of processes that ended (journal.ts writes them): found, taken over by a rename, and read back to the
// captures they left open; planted or altered lines never verify (journal-format.ts).
import { lstatSync, readdirSync, readFileSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { JOURNAL_NAME, STALE_MS, journalName, pidNamespace, verifiedEntries } from "./journal-format.js";
import { earlierProcess, processAlive } from "./spool-files.js";

/** Journals larger than this are not read back (rotation keeps ours under 1 MB or twice what is open; this bounds a planted one). */
const MAX_READ_BYTES = 256 * 1024 * 1024;
let claims = 0;

/** A journal left by a process that ended: the captures it wrote and never settled. */
export interface OrphanJournal {
  file: string;
  records: Array<{ uuid: string; record: unknown }>;
  /** The parts its records refer to (journal-format.ts `RecordPart`), read back by key; one whose commit did not verify is not there. */
  parts: ReadonlyMap<string, unknown>;
  /** Lines that could not be read or did not verify. */
  corrupt: number;
}

/**
 * True when the journal has no owner: untouched for STALE_MS (its owner beats more often), or, in this
 * process's own pid namespace, its process has ended or its pid is this process's under another session.
 */
function abandoned(pid: number, session: string, namespace: string | undefined, mtimeMs: number, now: number): boolean {
  if (mtimeMs < now - STALE_MS) return true;
  if (namespace === undefined || namespace !== pidNamespace() || pidNamespace() === "") return false;
  if (pid === process.pid) return earlierProcess(session);
  return !processAlive(pid);
}

/**
 * The journals in `dir` whose processes ended, with what they leave open. Each is first renamed to a name of
 * this process, so that two processes starting together do not both recover it. Never throws.
 */
export function orphanJournals(dir: string, key: Buffer, now: number = Date.now()): OrphanJournal[] {
  const out: OrphanJournal[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return out;
  }
  for (const file of files) {
    const name = JOURNAL_NAME.exec(file);
    if (!name) continue;
    try {
      const stat = lstatSync(join(dir, file));
      if (!stat.isFile() || !abandoned(Number(name[1]), name[2]!, name[3], stat.mtimeMs, now)) continue;
      const claimed = journalName(`-r${++claims}`);
      renameSync(join(dir, file), join(dir, claimed));
      if (stat.size > MAX_READ_BYTES) {
        out.push({ file: claimed, records: [], parts: new Map(), corrupt: 1 });
        continue;
      }
      out.push(readJournal(claimed, readFileSync(join(dir, claimed), "utf8"), key));
    } catch {
      // Gone meanwhile (another process recovered it).
    }
  }
  return out;
}

function readJournal(file: string, text: string, key: Buffer): OrphanJournal {
  const open = new Map<string, unknown>();
  const parts = new Map<string, unknown>();
  const settled = new Set<string>();
  // Lines that verify but say nothing a journal says.
  let unknown = 0;
  const corrupt = verifiedEntries(text, key, (json) => {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = undefined;
    }
    const entry = value as { u?: unknown; r?: unknown; d?: unknown; p?: unknown; i?: unknown; v?: unknown } | undefined;
    if (typeof entry?.d === "string") settled.add(entry.d);
    else if (Array.isArray(entry?.d)) {
      for (const uuid of entry.d as unknown[]) if (typeof uuid === "string") settled.add(uuid);
    }
    else if (typeof entry?.p === "string") {
      const record = open.get(entry.p);
      if (record !== null && typeof record === "object" && entry.r !== null && typeof entry.r === "object") Object.assign(record, entry.r);
    }
    else if (typeof entry?.u === "string") open.set(entry.u, entry.r);
    else if (typeof entry?.i === "string") parts.set(entry.i, entry.v);
    else unknown += 1;
  });
  const records = [...open].filter(([uuid]) => !settled.has(uuid)).map(([uuid, record]) => ({ uuid, record }));
  return { file, records, parts, corrupt: corrupt + unknown };
}

/** Removes a recovered journal. */
export function removeJournal(dir: string, file: string): void {
  try {
    unlinkSync(join(dir, file));
  } catch {
    // Removed by another process that recovered it too.
  }
}
