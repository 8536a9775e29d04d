// The file reads of the source mapper: the tail of a generated file, whole files under a size limit.
import { closeSync, fstatSync, openSync, readFileSync as fsReadFileSync, readSync } from "node:fs";
import { lazyFsPromises } from "../builtins.js";

/** The end of a file, and whether it is the whole file. */
export interface Tail {
  text: string;
  whole: boolean;
}

/** File reads the mapper makes; the default ones read only what is needed and refuse big files. */
export interface Reads {
  /** The last `bytes` bytes of a file. */
  tail(path: string, bytes: number): Promise<Tail>;
  /** A whole file; throws when it is larger than `maxBytes`. */
  whole(path: string, maxBytes: number): Promise<string>;
}

export interface ReadsSync {
  tail(path: string, bytes: number): Tail;
  whole(path: string, maxBytes: number): string;
}


function tooBig(path: string, size: number, maxBytes: number): Error {
  return new Error(`${path} is ${size} bytes, over the limit of ${maxBytes}`);
}

export const fileReads: Reads = {
  async tail(path, bytes) {
    const handle = await lazyFsPromises().open(path, "r");
    try {
      const { size } = await handle.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      let read = 0;
      while (read < buffer.length) {
        const { bytesRead } = await handle.read(buffer, read, buffer.length - read, start + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return { text: buffer.toString("utf8", 0, read), whole: start === 0 };
    } finally {
      await handle.close();
    }
  },
  async whole(path, maxBytes) {
    const handle = await lazyFsPromises().open(path, "r");
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) throw tooBig(path, size, maxBytes);
      return await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  },
};

export const fileReadsSync: ReadsSync = {
  tail(path, bytes) {
    const fd = openSync(path, "r");
    try {
      const { size } = fstatSync(fd);
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      let read = 0;
      while (read < buffer.length) {
        const bytesRead = readSync(fd, buffer, read, buffer.length - read, start + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return { text: buffer.toString("utf8", 0, read), whole: start === 0 };
    } finally {
      closeSync(fd);
    }
  },
  whole(path, maxBytes) {
    const fd = openSync(path, "r");
    try {
      const { size } = fstatSync(fd);
      if (size > maxBytes) throw tooBig(path, size, maxBytes);
      return fsReadFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  },
};

/** Reads through a whole-file reader given in the options: the tail is the whole text, no limits. */
export function wholeReads(readFile: (path: string) => Promise<string>): Reads {
  return { tail: async (path) => ({ text: await readFile(path), whole: true }), whole: (path) => readFile(path) };
}

export function wholeReadsSync(readFileSync: (path: string) => string): ReadsSync {
  return { tail: (path) => ({ text: readFileSync(path), whole: true }), whole: (path) => readFileSync(path) };
}
