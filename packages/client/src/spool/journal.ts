// The spool's write-ahead journal: every report captured and not settled yet, appended in group commits, so that a
// kill -9 or a SIGTERM with Node's default action (no JavaScript runs) loses none of them. The next start recovers them
// (journal-recovery.ts).
import { closeSync, constants, fstatSync, ftruncateSync, futimesSync, openSync, renameSync, unlinkSync, write as fsWrite, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { captureEntry, commitBytes, HEARTBEAT_MS, journalName, patchLine, rewrittenBytes, settledLine } from "./journal-format.js";
import { FileParts, type Commit } from "./journal-parts.js";

/** Lines wait at most this long before they are written, in one write for all of them. */
const FLUSH_MS = 20;
/**
 * A capture, or a merged duplicate's new count, waiting this long is written at once, even from inside an
 * application's synchronous loop. A count waits no longer than a capture: in a storm of one error nearly every
 * occurrence is a count, and a kill must lose none sent 50 ms before it.
 */
const MAX_LAG_MS = 50;
/** Work a synchronous write may take inside the application's call (at most one per 50 ms): what is left waits. */
const SYNC_BUDGET_MS = 10;
/** Work one group commit may take on the event loop; what is left goes in the next. */
const ASYNC_BUDGET_MS = 8;
/** With nothing open, a journal past this size starts again from empty. */
const ROTATE_BYTES = 1024 * 1024;
/**
 * With nothing open, the journal is emptied at once and removed only after this long without a capture: a file
 * created and removed for every report (a service with an error now and then) costs more than the report's write.
 */
const IDLE_REMOVE_MS = 1000;
export interface JournalOptions {
  dir: string;
  /** The spool's key: every commit is sealed with it, so a planted line is never recovered. */
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

/** A capture written and not settled: its line (a view into the commit it went in), how to make it again, its parts' keys. */
interface Written {
  record: () => unknown;
  line: Buffer | undefined;
  parts: readonly string[];
}

/** The journal of this process in `options.dir` (one per folder: see journal-shared.ts). Never throws. */
export function openJournal(options: JournalOptions): Journal {
  const { dir, key } = options;
  const debug = options.debug ?? (() => undefined);
  const now = options.now ?? Date.now;
  const path = join(dir, journalName());
  // Captures not written yet, oldest first, with the time they came.
  const waiting = new Map<string, { at: number; record: () => unknown }>();
  // Captures written and not settled, with the line written for each (a rewrite keeps only these) and how to make
  // it again; their settlements wait to be written, one sealed line for all those of a group commit.
  const written = new Map<string, Written>();
  // The parts (journal-format.ts) the current file holds, and whether a failed write left it cut inside a commit.
  const parts = new FileParts();
  // Written captures whose line no longer says all (a patch came since): a rewrite makes their line again.
  const patched = new Set<string>();
  let settled: string[] = [];
  // Patches of written records, not written yet, and when the oldest of them came.
  const patches = new Map<string, () => Record<string, unknown>>();
  let patchedSince: number | undefined;
  let fd: number | undefined;
  let failed = false;
  let bytes = 0;
  // Bytes the last rewrite left (open captures only): the next waits until the file has twice that, so that while
  // more than ROTATE_BYTES stay open (a burst faster than delivery) each capture is written again a bounded number
  // of times, not at every group commit.
  let compacted = 0;
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let lastSync = 0;
  /** Set by close(): a file opened by close's last flush gets no heartbeat. */
  let ended = false;
  /** Set by close() while a group commit's write is in flight: the file is closed (and maybe removed) once it is done. */
  let closing = false;

  function openFile(): number | undefined {
    if (closing) return undefined;
    if (fd !== undefined || failed) return fd;
    try {
      if (!options.safe()) throw new Error("the spool folder is not safe");
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (constants.O_NOFOLLOW ?? 0);
      fd = openSync(path, flags, 0o600);
      bytes = fstatSync(fd).size;
      if (heartbeat === undefined && !ended) {
        heartbeat = setInterval(beat, HEARTBEAT_MS);
        heartbeat.unref();
      }
    } catch (error) {
      failed = true;
      debug(`journal off: cannot write ${path} (${(error as Error).message}); reports captured are kept in memory only`);
    }
    return fd;
  }

  /**
   * The commit of what waits, which then counts as written: line by line (one record too large for a string is
   * skipped, not the batch), sealed once for all, and no more than `budgetMs` of work when the application's own
   * call pays for it. Each capture keeps its line's bytes (a view into the commit) for a rewrite.
   */
  function take(budgetMs = Infinity): Commit | undefined {
    const started = performance.now();
    const lines: string[] = [];
    // The keys of the parts this commit holds: in the file once it is written whole (FileParts.written).
    const commitParts = new Set<string>();
    // For each line of `lines`, the capture whose line it is (a rewrite writes it again), if any.
    const owners: Array<{ line: Buffer | undefined } | undefined> = [];
    const line = (make: () => string, what: string, owner?: { line: Buffer | undefined }): void => {
      try {
        lines.push(make());
        owners.push(owner);
      } catch (error) {
        debug(`journal: ${what} not written (${(error as Error).message})`);
      }
    };
    for (const [uuid, { record }] of waiting) {
      waiting.delete(uuid);
      const entry: Written = { record, line: undefined, parts: [] };
      written.set(uuid, entry);
      line(
        () => {
          const made = captureEntry(uuid, record);
          entry.parts = made.parts.map((part) => part.key);
          // Its parts the file does not hold yet go before it.
          parts.take(made.parts, commitParts, (text) => void (lines.push(text), owners.push(undefined)));
          return made.text;
        },
        `report ${uuid}`,
        entry,
      );
      if (performance.now() - started > budgetMs) break;
    }
    for (const [uuid, patch] of patches) {
      if (waiting.has(uuid)) continue;
      patches.delete(uuid);
      line(() => patchLine(uuid, patch), `the count of report ${uuid}`);
    }
    if (patches.size === 0) patchedSince = undefined;
    if (settled.length > 0) line(() => settledLine(settled), "settlements");
    settled = [];
    if (waiting.size > 0) schedule();
    if (lines.length === 0) return undefined;
    try {
      const views: (Buffer | undefined)[] = [];
      const bytes = commitBytes(lines, key, views);
      owners.forEach((owner, i) => {
        if (owner !== undefined) owner.line = views[i];
      });
      return parts.commit(bytes, commitParts);
    } catch (error) {
      debug(`journal: a commit of ${lines.length} lines not written (${(error as Error).message})`);
      return undefined;
    }
  }

  /** When the timer fires (performance.now()); Infinity with none. */
  let due = Number.POSITIVE_INFINITY;

  function schedule(ms: number = FLUSH_MS): void {
    if (failed) return;
    const at = performance.now() + ms;
    if (timer !== undefined) {
      if (at >= due) return;
      clearTimeout(timer);
    }
    due = at;
    timer = setTimeout(flush, ms);
    // The exit paths write what waits; the timer must not keep a finished process up.
    timer.unref();
  }

  function flush(): void {
    timer = undefined;
    due = Number.POSITIVE_INFINITY;
    if (inFlight) {
      // A write late on the thread pool: it, and what waits now, are written synchronously (see copyStuck).
      if (parts.late(MAX_LAG_MS)) flushSync(ASYNC_BUDGET_MS);
      return schedule();
    }
    const file = openFile();
    if (file === undefined) return;
    const commit = take(ASYNC_BUDGET_MS);
    if (commit === undefined) return rotate();
    inFlight = true;
    parts.sent(commit);
    write(file, commit, 0);
    // Looked at again once it would be late, though nothing else comes.
    schedule(MAX_LAG_MS);
  }

  /**
   * The commit in flight written again, synchronously, once it has waited MAX_LAG_MS behind a busy thread pool (DNS
   * lookups, a slow disk), so that a kill loses none of its captures. The pool's write may still land after it: the
   * reader skips a commit it has read already (journal-format.ts).
   */
  function copyStuck(): void {
    const stuck = fd === undefined ? undefined : parts.stuck(MAX_LAG_MS);
    if (stuck === undefined) return;
    try {
      // Landed, its callback not run yet (the event loop was held): the file has its bytes past those counted.
      if (fstatSync(fd!).size - bytes >= stuck.bytes.length) return;
    } catch {
      // Written again, to be sure.
    }
    writeCommit(fd!, stuck);
  }

  function writeCommit(file: number, commit: Commit): void {
    try {
      for (let offset = 0; offset < commit.bytes.length; ) offset += writeSync(file, commit.bytes, offset, commit.bytes.length - offset);
      bytes += commit.bytes.length;
      parts.written(commit);
    } catch (error) {
      parts.failed();
      debug(`journal: write failed (${(error as Error).message})`);
    }
  }

  function write(file: number, commit: Commit, offset: number): void {
    const buffer = commit.bytes;
    fsWrite(file, buffer, offset, buffer.length - offset, null, (error, count) => {
      if (error) {
        inFlight = false;
        parts.landed();
        parts.failed();
        debug(`journal: write failed (${error.message})`);
        if (closing) closeFile();
        return;
      }
      bytes += count;
      if (offset + count < buffer.length) {
        parts.landed(); // in part: written again now, the copy would land inside it
        return write(file, commit, offset + count);
      }
      inFlight = false;
      parts.landed();
      parts.written(commit);
      if (closing) return closeFile();
      if (waiting.size > 0 || settled.length > 0) schedule();
      else if (patches.size > 0) schedule();
      else rotate();
    });
  }

  /**
   * With nothing open, the journal goes (a later capture makes it again), so that a process at rest leaves
   * none behind; past its size bound it is written anew with only what is open. Called with no write in flight.
   */
  function rotate(): void {
    if (fd === undefined || inFlight) return;
    try {
      if (written.size === 0 && waiting.size === 0 && settled.length === 0) {
        // Emptied now (a process killed from here on leaves nothing open), removed once idle or at exit.
        if (bytes > 0) ftruncateSync(fd, 0);
        bytes = 0;
        compacted = 0;
        parts.clear();
        if (idleTimer === undefined) {
          idleTimer = setTimeout(removeIdle, IDLE_REMOVE_MS);
          idleTimer.unref();
          process.on("exit", removeIdle);
        }
      } else if (bytes >= ROTATE_BYTES && bytes >= 2 * compacted) rewrite();
    } catch {
      // A journal that stays is still correct: the next start finds nothing open in it.
    }
  }

  /** The emptied journal goes, unless something was captured since (it is emptied and timed again when settled). */
  function removeIdle(): void {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    process.off("exit", removeIdle);
    if (fd === undefined || inFlight || bytes > 0 || written.size > 0 || waiting.size > 0 || settled.length > 0) return;
    try {
      closeSync(fd);
      fd = undefined;
      parts.clear();
      unlinkSync(path);
    } catch {
      // Left for the next start, which finds nothing open in it.
    }
  }

  /**
   * A fresh file in place of the journal, holding every open capture (and no settlement): whole, then renamed in.
   * Each keeps the line it was written with, made again only when a patch came since (the patches go with the old file).
   */
  function rewrite(): void {
    const entries: Written[] = [];
    for (const [uuid, entry] of written) {
      if (entry.line === undefined || patched.has(uuid)) {
        try {
          const made = captureEntry(uuid, entry.record);
          entry.line = Buffer.from(made.text, "utf8");
          entry.parts = made.parts.map((part) => part.key);
          parts.know(made.parts);
        } catch {
          entry.line = undefined; // left out, as when it was first written
        }
      }
      if (entry.line !== undefined) entries.push(entry);
    }
    // One commit of them all, the parts they refer to first; each line's bytes are then a view into it, so the older
    // commits' buffers go.
    const kept = parts.keep(entries.map((entry) => entry.parts)).map((text) => ({ line: Buffer.from(text, "utf8") }));
    const data = rewrittenBytes([...kept, ...entries], key);
    patched.clear();
    const temp = `${path}.tmp`;
    writeFileSync(temp, data, { mode: 0o600, flag: "w" });
    renameSync(temp, path);
    parts.rewritten();
    compacted = data.length;
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    settled = [];
    patches.clear();
    patchedSince = undefined;
    openFile();
  }

  /**
   * The owner's mark on its open journal; a journal taken over meanwhile (the process was frozen) is made again.
   * Started with the file (the first capture), not at initialize: before it there is nothing to mark.
   */
  let heartbeat: NodeJS.Timeout | undefined;
  function beat(): void {
    if (fd === undefined || inFlight) return;
    try {
      if (fstatSync(fd).nlink === 0) {
        debug("journal: taken over by another process while this one was not running; written again");
        rewrite();
      } else futimesSync(fd, new Date(), new Date());
    } catch {
      // The next beat tries again.
    }
  }

  /** The end of close(): the file closed, and removed when nothing in it is open. */
  function closeFile(): void {
    closing = false;
    if (fd === undefined) return;
    try {
      closeSync(fd);
      if (written.size === 0) unlinkSync(path);
    } catch {
      // Left for the next start, which finds nothing open in it.
    }
    fd = undefined;
  }

  function flushSync(budgetMs = Infinity): void {
    const file = openFile();
    if (file === undefined) return;
    copyStuck();
    const commit = take(budgetMs);
    if (commit !== undefined) writeCommit(file, commit);
  }

  /**
   * A line came at `at`; the oldest line not written yet came at `oldest`. Inside a long synchronous loop no timer
   * runs: once that oldest line has waited MAX_LAG_MS, what waits is written now (at most once per MAX_LAG_MS).
   */
  function bounded(at: number, oldest: number | undefined): void {
    if (oldest !== undefined && at - oldest >= MAX_LAG_MS && at - lastSync >= MAX_LAG_MS) {
      lastSync = at;
      flushSync(SYNC_BUDGET_MS);
    } else schedule();
  }

  return {
    add(uuid, record) {
      if (failed) return;
      const at = now();
      waiting.set(uuid, { at, record });
      bounded(at, waiting.values().next().value?.at);
    },
    patch(uuid, patch) {
      if (failed || waiting.has(uuid) || !written.has(uuid)) return;
      const at = now();
      patches.set(uuid, patch);
      patched.add(uuid);
      patchedSince ??= at;
      bounded(at, patchedSince);
    },
    settle(uuid) {
      patches.delete(uuid);
      patched.delete(uuid);
      // Settled before its group commit: never written, no settlement to write.
      const unwritten = waiting.delete(uuid);
      if (!unwritten && !written.delete(uuid)) return;
      if (written.size === 0 && waiting.size === 0) {
        // The last open capture: the journal is emptied now, not at a timer a process that is ending may never run
        // (its settlements unwritten, the next start would send the reports again).
        settled = [];
        clearTimeout(timer);
        timer = undefined;
        due = Number.POSITIVE_INFINITY;
        if (!inFlight) rotate();
        return;
      }
      if (unwritten) return;
      settled.push(uuid);
      schedule();
    },
    flushSync,
    close() {
      ended = true;
      clearTimeout(timer);
      clearInterval(heartbeat);
      clearTimeout(idleTimer);
      idleTimer = undefined;
      process.off("exit", removeIdle);
      timer = undefined;
      due = Number.POSITIVE_INFINITY;
      flushSync();
      failed = true;
      if (fd === undefined) return;
      // A group commit's write still on the thread pool writes to this descriptor: closed now, the write would fail
      // (or go to a file opened meanwhile under the same number) and the journal stay behind.
      if (inFlight) closing = true;
      else closeFile();
    },
    open: () => written.size + waiting.size,
  };
}
