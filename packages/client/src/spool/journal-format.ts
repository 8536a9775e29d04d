// The journal on disk: its file's name, and its lines. A group commit is its lines (a capture, a patch of one, the settlements), each a JSON
// value, then one seal line holding the MAC (HMAC-SHA256 under the spool's key) of the commit's bytes before it: one
// MAC per commit, not one per line. Journals written with a MAC inside each line (by earlier versions) are still read.
// A commit may be in a file twice (written again while the first write waited for the thread pool): it is read once.
import { lazyCrypto, workerThreadId } from "../builtins.js";
import { readlinkSync } from "node:fs";
import { mac, sameText, unseal } from "./spool-guard.js";
import { processSession } from "./spool-files.js";

/** An open journal's owner touches it this often, so that a journal untouched for STALE_MS has no owner. */
export const HEARTBEAT_MS = 30 * 1000;
/**
 * A journal untouched this long is abandoned, whatever its pid says: its pid may be a live process of another
 * pid namespace (two containers sharing a volume are both pid 1) or a later process with the same pid.
 */
export const STALE_MS = 3 * HEARTBEAT_MS;
// `journal-<pid>-<session>-n<pid namespace>.log`, with `-t<thread id>` after the session for a worker thread's
// (each thread writes its own), and `-r<n>` for one taken over from an ended process while it is recovered. A pid
// tells whether a process runs only inside the same pid namespace.
export const JOURNAL_NAME = /^journal-(\d+)-([0-9a-f]+)(?:-t\d+)?(?:-n(\d+))?(?:-r\d+)?\.log$/;

let namespaceOfProcess: string | undefined;

/** This process's pid namespace (Linux), or "" where it cannot be told; read at first use. */
export function pidNamespace(): string {
  if (namespaceOfProcess !== undefined) return namespaceOfProcess;
  try {
    namespaceOfProcess = /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? "";
  } catch {
    namespaceOfProcess = "";
  }
  return namespaceOfProcess;
}

/** This process's journal file name, with `suffix` before the extension. */
export function journalName(suffix = ""): string {
  const thread = workerThreadId();
  return `journal-${process.pid}-${processSession()}${thread !== undefined ? `-t${thread}` : ""}${pidNamespace() ? `-n${pidNamespace()}` : ""}${suffix}.log`;
}

/** A commit's seal line, after its lines, and its length in bytes with its newline. */
const SEAL_LINE = /^\{"s":"([0-9a-f]{64})"\}$/;
const SEAL_BYTES = '{"s":"'.length + 64 + '"}\n'.length;

/** A capture's journal line (with its newline), not sealed yet. */
export function captureLine(uuid: string, record: () => unknown): string {
  return captureEntry(uuid, record).text;
}

/** A capture's journal line (with its newline) and the parts it refers to, which go before it in the file. */
export function captureEntry(uuid: string, record: () => unknown): { text: string; parts: readonly RecordPart[] } {
  const value = record();
  if (value instanceof RecordJson) return { text: `{"u":${JSON.stringify(uuid)},"r":${value.json}}\n`, parts: value.parts };
  return { text: `${JSON.stringify({ u: uuid, r: value })}\n`, parts: NO_PARTS };
}

/**
 * JSON text that many records hold (a breadcrumb: every report made while it is in the ring): written once per
 * journal file, on a line of its own before the first line that refers to it by `key`. Recovery hands the parts
 * read back to whoever reads the records (journal-recovery.ts).
 */
export interface RecordPart {
  key: string;
  json: string;
}

const NO_PARTS: readonly RecordPart[] = [];

/** A record given as its JSON text already (journal-record.ts makes parts of it once for many records), with the parts it refers to. */
export class RecordJson {
  constructor(
    readonly json: string,
    readonly parts: readonly RecordPart[] = NO_PARTS,
  ) {}
}

/** A part's journal line (with its newline). */
export function partLine(part: RecordPart): string {
  return `{"i":${JSON.stringify(part.key)},"v":${part.json}}\n`;
}

/** The new count of a written capture, as its journal line. */
export function patchLine(uuid: string, patch: () => Record<string, unknown>): string {
  return `${JSON.stringify({ p: uuid, r: patch() })}\n`;
}

/** One line for all the settlements of a commit. */
export function settledLine(uuids: readonly string[]): string {
  return `${JSON.stringify({ d: uuids })}\n`;
}

/**
 * A group commit's bytes: `lines` (each ending in a newline) and their seal line. `views` gets, for each line, the
 * bytes it takes in the result (a view, no copy): a rewrite of the journal writes an open capture's line again.
 */
export function commitBytes(lines: readonly string[], key: Buffer, views?: (Buffer | undefined)[]): Buffer {
  // Each line encoded once, in place: those bytes are what the MAC is of, what is written, and (a view) what a
  // rewrite writes again.
  let length = 0;
  for (const line of lines) length += Buffer.byteLength(line, "utf8");
  const bytes = Buffer.allocUnsafe(length + SEAL_BYTES);
  let at = 0;
  for (const line of lines) {
    const written = bytes.write(line, at, "utf8");
    views?.push(bytes.subarray(at, at + written));
    at += written;
  }
  bytes.write(`{"s":"${mac(bytes.subarray(0, length), key)}"}\n`, length, "latin1");
  return bytes;
}

/**
 * The journal text's entries that verify, in order, as JSON text: each commit's lines once its seal line verifies,
 * and lines sealed one by one (the earlier format). Returns how many lines did not verify (planted, altered, or a
 * commit cut short by the end of the file). A commit read already (the same bytes, so the same seal) is skipped.
 */
export function verifiedEntries(text: string, key: Buffer, entry: (json: string) => void): number {
  let corrupt = 0;
  const seen = new Set<string>();
  // The lines since the last seal line, and where they start in `text`.
  let group: string[] = [];
  let groupStart = 0;
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end);
    const next = end + 1;
    if (line !== "") {
      const sealed = SEAL_LINE.exec(line);
      if (sealed !== null) {
        if (group.length > 0 && sameText(mac(text.slice(groupStart, at), key), sealed[1]!)) {
          if (!seen.has(sealed[1]!)) for (const json of group) entry(json);
          seen.add(sealed[1]!);
        } else corrupt += group.length;
        group = [];
        groupStart = next;
      } else {
        const old = group.length === 0 ? unseal(line, key) : undefined;
        if (old !== undefined) {
          entry(old);
          groupStart = next;
        } else group.push(line);
      }
    } else if (group.length === 0) groupStart = next;
    at = next;
  }
  return corrupt + group.length;
}

/**
 * A rewritten journal's one commit: the lines of `entries` (each its line's bytes) and their seal line. Each entry's
 * line becomes a view into the result, so the buffers of the commits they were first written in can go.
 */
export function rewrittenBytes(entries: ReadonlyArray<{ line: Buffer | undefined }>, key: Buffer): Buffer {
  const hmac = lazyCrypto().createHmac("sha256", key);
  const pieces: Buffer[] = [];
  for (const entry of entries) {
    hmac.update(entry.line!);
    pieces.push(entry.line!);
  }
  pieces.push(Buffer.from(`{"s":"${hmac.digest("hex")}"}\n`, "latin1"));
  const bytes = Buffer.concat(pieces);
  let at = 0;
  for (const entry of entries) {
    const length = entry.line!.length;
    entry.line = bytes.subarray(at, at + length);
    at += length;
  }
  return bytes;
}
