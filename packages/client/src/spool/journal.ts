// The spool's write-ahead journal: every report captured and not settled yet, appended in group commits, so that a
// kill -9 or a SIGTERM with Node's default action (no JavaScript runs) loses none of them. The next start recovers them.
import * as fs from "node:fs";
import { join, resolve } from "node:path";
import { seal, unseal } from "./spool-guard.js";
import { processAlive, processSession } from "./spool-files.js";

/** Lines wait at most this long before they are written, in one write for all of them. */
const FLUSH_MS = 20;
/** A capture waiting this long is written at once, even from inside an application's synchronous loop. */
const MAX_LAG_MS = 50;
/** With nothing open, a journal past this size starts again from empty. */
const ROTATE_BYTES = 1024 * 1024;
/** A journal of a live process that was not written for this long is taken as abandoned (a reused pid). */
const STALE_MS = 10 * 60 * 1000;
/** Journals larger than this are not read back (they cannot be ours: rotation keeps them small). */
const MAX_READ_BYTES = 64 * 1024 * 1024;
// `journal-<pid>-<session>.log`, and `-r<n>` for one taken over from an ended process while it is recovered.
const NAME = /^journal-(\d+)-([0-9a-f]+)(?:-r\d+)?\.log$/;
let claims = 0;

export interface JournalOptions {
  dir: string;
  /** The spool's key: every line is sealed with it, so a planted line is never recovered. */
  key: Buffer;
  /** The folder checks of the spool: false means the folder is no longer safe to write in. */
  safe(): boolean;
  debug?: ((message: string) => void) | undefined;
  now?: (() => number) | undefined;
}

export interface Journal {
  /** A report was captured: `record()` (its JSON-safe capture) is written within 20 ms, at once past 50 ms. */
  add(uuid: string, record: () => unknown): void;
  /**
   * What `uuid`'s record says changed (more duplicates merged into it): `patch` is merged into the record when it
   * is read back. Nothing to write while the record itself waits (it is read when written); else one small line
   * with the next write, the latest patch of each record only.
   */
  patch(uuid: string, patch: () => Record<string, unknown>): void;
  /** A report is settled (sent, spooled or dropped): it no longer needs the journal. */
  settle(uuid: string): void;
  /** Writes what waits, synchronously (the exit paths). */
  flushSync(): void;
  /** Writes what waits and closes the file; removes it when nothing in it is open. */
  close(): void;
  /** Captures written and not settled yet. */
  open(): number;
}

/** The journal this process appends to, in the spool folder. Never throws. */
export function createJournal(options: JournalOptions): Journal {
  // Clients of one process over one folder share its journal (its name is the process's): each settling its own
  // reports must not remove or truncate the file while another's are open in it.
  const path = join(resolve(options.dir), `journal-${process.pid}-${processSession()}.log`);
  const found = sharedJournals.get(path);
  if (found) {
    found.refs += 1;
    return handle(path, found);
  }
  const entry = { journal: openJournal(options), refs: 1 };
  sharedJournals.set(path, entry);
  return handle(path, entry);
}

const sharedJournals = new Map<string, { journal: Journal; refs: number }>();

/** One client's hold on a shared journal: closing it closes the journal only when no other client holds it. */
function handle(path: string, entry: { journal: Journal; refs: number }): Journal {
  let closed = false;
  return {
    ...entry.journal,
    close() {
      if (closed) return;
      closed = true;
      entry.refs -= 1;
      if (entry.refs > 0) return;
      sharedJournals.delete(path);
      entry.journal.close();
    },
  };
}

function openJournal(options: JournalOptions): Journal {
  const { dir, key } = options;
  const debug = options.debug ?? (() => undefined);
  const now = options.now ?? Date.now;
  const path = join(dir, `journal-${process.pid}-${processSession()}.log`);
  // Captures not written yet, oldest first, with the time they came.
  const waiting = new Map<string, { at: number; record: () => unknown }>();
  // Captures written and not settled; their settlement is written as a line of its own.
  const written = new Set<string>();
  let settledLines: string[] = [];
  // Patches of written records, not written yet.
  const patches = new Map<string, () => Record<string, unknown>>();
  let fd: number | undefined;
  let failed = false;
  let bytes = 0;
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;

  function openFile(): number | undefined {
    if (fd !== undefined || failed) return fd;
    try {
      if (!options.safe()) throw new Error("the spool folder is not safe");
      const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | (fs.constants.O_NOFOLLOW ?? 0);
      fd = fs.openSync(path, flags, 0o600);
      bytes = fs.fstatSync(fd).size;
    } catch (error) {
      failed = true;
      debug(`journal off: cannot write ${path} (${(error as Error).message}); reports captured are kept in memory only`);
    }
    return fd;
  }

  /** The lines of everything waiting, which then counts as written. */
  function take(): Buffer | undefined {
    let text = "";
    for (const [uuid, { record }] of waiting) {
      let json: string;
      try {
        json = JSON.stringify({ u: uuid, r: record() });
      } catch (error) {
        debug(`journal: report ${uuid} not written (${(error as Error).message})`);
        continue;
      }
      text += `${seal(json, key)}\n`;
      written.add(uuid);
    }
    waiting.clear();
    for (const [uuid, patch] of patches) {
      try {
        text += `${seal(JSON.stringify({ p: uuid, r: patch() }), key)}\n`;
      } catch (error) {
        debug(`journal: report ${uuid} not updated (${(error as Error).message})`);
      }
    }
    patches.clear();
    for (const line of settledLines) text += line;
    settledLines = [];
    return text === "" ? undefined : Buffer.from(text, "utf8");
  }

  function schedule(): void {
    if (timer !== undefined || failed) return;
    timer = setTimeout(flush, FLUSH_MS);
    // The exit paths write what waits; the timer must not keep a finished process up.
    timer.unref();
  }

  function flush(): void {
    timer = undefined;
    if (inFlight) return schedule();
    const file = openFile();
    if (file === undefined) return;
    const buffer = take();
    if (buffer === undefined) return rotate();
    inFlight = true;
    write(file, buffer, 0);
  }

  function write(file: number, buffer: Buffer, offset: number): void {
    fs.write(file, buffer, offset, buffer.length - offset, null, (error, count) => {
      if (error) {
        inFlight = false;
        debug(`journal: write failed (${error.message})`);
        return;
      }
      bytes += count;
      if (offset + count < buffer.length) return write(file, buffer, offset + count);
      inFlight = false;
      if (waiting.size > 0 || settledLines.length > 0 || patches.size > 0) schedule();
      else rotate();
    });
  }

  /**
   * With nothing open, the journal goes (a later capture makes it again), so that a process at rest leaves
   * none behind; under steady load, one with nothing open starts again from empty past its size bound.
   * Called with no write in flight.
   */
  function rotate(): void {
    if (fd === undefined || written.size > 0 || inFlight) return;
    try {
      if (waiting.size === 0 && settledLines.length === 0) {
        fs.closeSync(fd);
        fd = undefined;
        bytes = 0;
        fs.unlinkSync(path);
      } else if (bytes >= ROTATE_BYTES) {
        fs.ftruncateSync(fd, 0);
        bytes = 0;
      }
    } catch {
      // A journal that stays is still correct: the next start finds nothing open in it.
    }
  }

  function flushSync(): void {
    const file = openFile();
    if (file === undefined) return;
    const buffer = take();
    if (buffer === undefined) return;
    try {
      for (let offset = 0; offset < buffer.length; ) offset += fs.writeSync(file, buffer, offset, buffer.length - offset);
      bytes += buffer.length;
    } catch (error) {
      debug(`journal: write failed (${(error as Error).message})`);
    }
  }

  return {
    add(uuid, record) {
      if (failed) return;
      const at = now();
      waiting.set(uuid, { at, record });
      // Inside a long synchronous loop no timer runs: the oldest capture bounds how long lines may wait.
      const oldest = waiting.values().next().value;
      if (oldest !== undefined && at - oldest.at >= MAX_LAG_MS) flushSync();
      else schedule();
    },
    patch(uuid, patch) {
      if (failed || waiting.has(uuid) || !written.has(uuid)) return;
      patches.set(uuid, patch);
      schedule();
    },
    settle(uuid) {
      patches.delete(uuid);
      if (waiting.delete(uuid)) return;
      if (!written.delete(uuid)) return;
      if (written.size === 0 && waiting.size === 0) {
        // The last open capture: the journal goes now, not at a timer a process that is ending may never run
        // (its settlements unwritten, the next start would send the reports again).
        settledLines = [];
        clearTimeout(timer);
        timer = undefined;
        if (!inFlight) rotate();
        return;
      }
      settledLines.push(`${seal(JSON.stringify({ d: uuid }), key)}\n`);
      schedule();
    },
    flushSync,
    close() {
      clearTimeout(timer);
      timer = undefined;
      flushSync();
      if (fd === undefined) return;
      try {
        fs.closeSync(fd);
        if (written.size === 0 && !inFlight) fs.unlinkSync(path);
      } catch {
        // Left for the next start, which finds nothing open in it.
      }
      fd = undefined;
      failed = true;
    },
    open: () => written.size + waiting.size,
  };
}

/** A journal left by a process that ended: the captures it wrote and never settled. */
export interface OrphanJournal {
  file: string;
  records: Array<{ uuid: string; record: unknown }>;
  /** Lines that could not be read or did not verify. */
  corrupt: number;
}

/** True when the journal's process has ended (or its pid now belongs to a later process, or it was abandoned). */
function abandoned(pid: number, session: string, mtimeMs: number, now: number): boolean {
  if (pid === process.pid) return session !== processSession();
  return !processAlive(pid) || mtimeMs < now - STALE_MS;
}

/**
 * The journals in `dir` whose processes ended, with what they leave open. Each is first renamed to a name of
 * this process, so that two processes starting together do not both recover it. Never throws.
 */
export function orphanJournals(dir: string, key: Buffer, now: number = Date.now()): OrphanJournal[] {
  const out: OrphanJournal[] = [];
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const file of files) {
    const name = NAME.exec(file);
    if (!name) continue;
    try {
      const stat = fs.lstatSync(join(dir, file));
      if (!stat.isFile() || !abandoned(Number(name[1]), name[2]!, stat.mtimeMs, now)) continue;
      const claimed = `journal-${process.pid}-${processSession()}-r${++claims}.log`;
      fs.renameSync(join(dir, file), join(dir, claimed));
      if (stat.size > MAX_READ_BYTES) {
        out.push({ file: claimed, records: [], corrupt: 1 });
        continue;
      }
      out.push(readJournal(claimed, fs.readFileSync(join(dir, claimed), "utf8"), key));
    } catch {
      // Gone meanwhile (another process recovered it).
    }
  }
  return out;
}

function readJournal(file: string, text: string, key: Buffer): OrphanJournal {
  const open = new Map<string, unknown>();
  const settled = new Set<string>();
  let corrupt = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const json = unseal(line, key);
    let value: unknown;
    try {
      value = json === undefined ? undefined : JSON.parse(json);
    } catch {
      value = undefined;
    }
    const entry = value as { u?: unknown; r?: unknown; d?: unknown; p?: unknown } | undefined;
    if (typeof entry?.d === "string") settled.add(entry.d);
    else if (typeof entry?.p === "string") {
      const record = open.get(entry.p);
      if (record !== null && typeof record === "object" && entry.r !== null && typeof entry.r === "object") Object.assign(record, entry.r);
    }
    else if (typeof entry?.u === "string") open.set(entry.u, entry.r);
    else corrupt += 1;
  }
  const records = [...open].filter(([uuid]) => !settled.has(uuid)).map(([uuid, record]) => ({ uuid, record }));
  return { file, records, corrupt };
}

/** Removes a recovered journal. */
export function removeJournal(dir: string, file: string): void {
  try {
    fs.unlinkSync(join(dir, file));
  } catch {
    // Removed by another process that recovered it too.
  }
}
