// The parts (journal-format.ts `RecordPart`) one journal file holds: each written once, before the first line that
// refers to it, and kept by a rewrite only while an open capture refers to it.
import { partLine, type RecordPart } from "./journal-format.js";

export class FileParts {
  /** Each part in the file, by key, with its line. */
  private readonly lines = new Map<string, string>();
  /** Parts taken by the commit being made: forgotten if it is not written after all. */
  private taken: string[] = [];

  /** Hands `write` the line of each part of `parts` the file does not hold yet, which it then holds. */
  take(parts: readonly RecordPart[], write: (line: string) => void): void {
    for (const part of parts) {
      if (this.lines.has(part.key)) continue;
      const line = partLine(part);
      this.lines.set(part.key, line);
      this.taken.push(part.key);
      write(line);
    }
  }

  /** The commit was written (true) or not: the parts it took are in the file, or not. */
  committed(written: boolean): void {
    if (!written) for (const key of this.taken) this.lines.delete(key);
    this.taken = [];
  }

  /** Known for a rewrite: a line made again may refer to a part the file never held. */
  know(parts: readonly RecordPart[]): void {
    for (const part of parts) if (!this.lines.has(part.key)) this.lines.set(part.key, partLine(part));
  }

  /** A rewrite's parts: the lines of those `refs` (each open capture's part keys) refer to, once each; the file holds only those from now on. */
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

  /** The file is emptied or gone. */
  clear(): void {
    this.lines.clear();
    this.taken = [];
  }
}
