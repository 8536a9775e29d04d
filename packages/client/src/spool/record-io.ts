// Writing one spool record so that it is whole on disk or not there at all, even on a nearly full disk.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync as fsWriteSync } from "node:fs";
import { randomHex } from "../builtins.js";
import { join } from "node:path";

/** Files being written start with this; one left by a process that died mid-write is removed later. */
export const TEMP_PREFIX = ".tmp-";

/** A fresh temporary file name in `dir`. */
export function tempPath(dir: string): string {
  return join(dir, `${TEMP_PREFIX}${process.pid}-${randomHex(6)}`);
}

/** Writes every byte of `bytes` (writeSync may write fewer than asked on a nearly full disk), or throws. */
function writeAllSync(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    const written = fsWriteSync(fd, bytes, offset, bytes.length - offset);
    if (written <= 0) throw new Error(`short write: ${offset} of ${bytes.length} bytes`);
    offset += written;
  }
}

/** Temp file, every byte, fsync, rename: the record is whole on disk or not there. The error, if any. */
export function writeRecordSync(dir: string, file: string, bytes: Buffer): Error | undefined {
  const temp = tempPath(dir);
  let fd: number | undefined;
  try {
    fd = openSync(temp, "wx", 0o600);
    writeAllSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, join(dir, file));
    return undefined;
  } catch (error) {
    try {
      if (fd !== undefined) closeSync(fd);
      rmSync(temp, { force: true });
    } catch {
      // The write already failed; nothing more to do.
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
