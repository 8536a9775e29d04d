// What one journal file holds besides its captures: its parts (journal-format.ts `RecordPart`), each written once,
// before the first line that refers to it, and kept by a rewrite only while an open capture refers to it; whether a
// failed write left the file cut inside a commit; and the commit in flight, written again once it waits too long.
import { partLine, type RecordPart } from "./journal-format.js";

/** A group commit as it is written: its bytes, and the keys of the parts it holds. */
export interface Commit {
  bytes: Buffer;
  parts: ReadonlySet<string>;
  /** It starts with RESYNC. */
  resync: boolean;
  /** The count of failed writes when it was made. */
  failures: number;
}

/**
 * Written before the first commit after a failed write: a newline ends a line the failed write left cut, and a seal
 * that verifies nothing closes what that write left (the reader counts it corrupt), so the commit after it verifies
 * on its own instead of being read as the rest of the cut one.
 */
const RESYNC = Buffer.from(`\n{"s":"${"0".repeat(64)}"}\n`, "latin1");

export class FileParts {
  /** Each part an open capture may refer to, by key, with its line: what a rewrite writes. */
  private readonly lines = new Map<string, string>();
  /**
   * The parts in the file: held by a commit that was written whole. A part held only by a commit still in flight is
   * not: that commit may never land (its write fails, or waits behind a busy thread pool until a kill), and a later
   * commit written meanwhile (a synchronous one) must then hold the part itself.
   */
  private readonly inFile = new Set<string>();
  /** A write failed, maybe after writing part of its commit (a full disk): the file may end inside a line. */
  private torn = false;
  private failures = 0;
  /** The commit whose write is on the thread pool, when it went, and whether it was handed out to be written again. */
  private flying: { commit: Commit; at: number; copied: boolean } | undefined;

  /**
   * Hands `write` the line of each part of `parts` neither in the file nor in `commit` (the keys of the parts the
   * commit being made holds), and adds it to `commit`.
   */
  take(parts: readonly RecordPart[], commit: Set<string>, write: (line: string) => void): void {
    for (const part of parts) {
      const line = this.lineOf(part);
      if (this.inFile.has(part.key) || commit.has(part.key)) continue;
      commit.add(part.key);
      write(line);
    }
  }

  /** The part's line, made once and kept while an open capture may refer to it. */
  private lineOf(part: RecordPart): string {
    let line = this.lines.get(part.key);
    if (line === undefined) this.lines.set(part.key, (line = partLine(part)));
    return line;
  }

  /** The commit of `bytes` (sealed), holding the parts `take` put in `parts`; `written` or `failed` once written. */
  commit(bytes: Buffer, parts: ReadonlySet<string>): Commit {
    return { bytes: this.torn ? Buffer.concat([RESYNC, bytes]) : bytes, parts, resync: this.torn, failures: this.failures };
  }

  /** The commit's write went to the thread pool. */
  sent(commit: Commit): void {
    this.flying = { commit, at: performance.now(), copied: false };
  }

  /** True while the commit in flight has waited `lagMs` or more. */
  late(lagMs: number): boolean {
    return this.flying !== undefined && performance.now() - this.flying.at >= lagMs;
  }

  /** The commit in flight, once, when it has waited `lagMs`: to be written again synchronously (then `written`). */
  stuck(lagMs: number): Commit | undefined {
    const flying = this.flying;
    if (flying === undefined || flying.copied || !this.late(lagMs)) return undefined;
    flying.copied = true;
    return flying.commit;
  }

  /** The commit was written whole: its parts are in the file. */
  written(commit: Commit): void {
    for (const key of commit.parts) if (this.lines.has(key)) this.inFile.add(key);
    // The file ends with a whole commit again, unless another write failed since (its cut bytes may come after).
    if (commit.resync && commit.failures === this.failures) this.torn = false;
  }

  /** The thread pool's write of the commit in flight is done (then `written` or `failed`). */
  landed(): void {
    this.flying = undefined;
  }

  /** A write failed: its commit's parts are not in the file, which may end inside it. */
  failed(): void {
    this.torn = true;
    this.failures += 1;
  }

  /** Known for a rewrite: a line made again may refer to a part the file never held. */
  know(parts: readonly RecordPart[]): void {
    for (const part of parts) this.lineOf(part);
  }

  /**
   * A rewrite's parts: the lines of those `refs` (each open capture's part keys) refer to, once each. Only those are
   * kept from now on; they are in the file once `rewritten()` says the new file is in place.
   */
  keep(refs: Iterable<readonly string[]>): string[] {
    const kept = new Map<string, string>();
    for (const keys of refs) {
      for (const key of keys) {
        const line = this.lines.get(key);
        if (line !== undefined) kept.set(key, line);
      }
    }
    this.lines.clear();
    for (const [key, line] of kept) this.lines.set(key, line);
    return [...kept.values()];
  }

  /** The rewritten file, holding the parts `keep` gave and whole commits only, is in place. */
  rewritten(): void {
    this.inFile.clear();
    for (const key of this.lines.keys()) this.inFile.add(key);
    this.torn = false;
  }

  /** The file is emptied or gone. */
  clear(): void {
    this.lines.clear();
    this.inFile.clear();
    this.torn = false;
  }
}
