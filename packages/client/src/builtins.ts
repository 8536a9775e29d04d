// Node built-ins that take milliseconds to load, loaded on first use so that importing the client stays cheap.
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { createRequire } from "node:module";

type Fs = typeof import("node:fs");
type Net = typeof import("node:net");
type Tls = typeof import("node:tls");
type Workers = typeof import("node:worker_threads");
type FsPromises = typeof import("node:fs/promises");
type Inspector = typeof import("node:inspector");
type Crypto = typeof import("node:crypto");

// Built-ins resolve the same from anywhere; the executable's path is an absolute path on every platform.
const load = createRequire(process.execPath);
let net: Net | undefined;
let tls: Tls | undefined;
let workers: Workers | undefined;
let fsPromises: FsPromises | undefined;
let inspector: Inspector | undefined;
let crypto: Crypto | undefined;

/** node:fs through require: an ES module's `import ... from "node:fs"` costs about 3 ms of start-up (Node 20), this about none. */
export const requireFs = (): Fs => load("node:fs") as Fs;
export const lazyNet = (): Net => (net ??= load("node:net") as Net);
export const lazyTls = (): Tls => (tls ??= load("node:tls") as Tls);
export const lazyWorkers = (): Workers => (workers ??= load("node:worker_threads") as Workers);
export const lazyFsPromises = (): FsPromises => (fsPromises ??= load("node:fs/promises") as FsPromises);
export const lazyInspector = (): Inspector => (inspector ??= load("node:inspector") as Inspector);
/** node:crypto: about 3.5 ms to load on Node 20 (a quarter of importing and initializing the client), so not before a report needs it. */
export const lazyCrypto = (): Crypto => (crypto ??= load("node:crypto") as Crypto);
/** node:crypto when the client loaded it already, else undefined (for code that has a cheaper way without it). */
export const loadedCrypto = (): Crypto | undefined => crypto;

/**
 * `bytes` random bytes as hex, from the operating system: node:crypto's when it is loaded, else read from
 * /dev/urandom (the same source, without loading node:crypto at initialize), else node:crypto's after all.
 */
export function randomHex(bytes: number): string {
  if (crypto === undefined && process.platform !== "win32") {
    try {
      const fd = openSync("/dev/urandom", "r");
      try {
        const out = Buffer.alloc(bytes);
        for (let at = 0; at < bytes; ) {
          const read = readSync(fd, out, at, bytes - at, null);
          if (read <= 0) throw new Error("short read");
          at += read;
        }
        return out.toString("hex");
      } finally {
        closeSync(fd);
      }
    } catch {
      // No /dev/urandom (a chroot without /dev): node:crypto below.
    }
  }
  return lazyCrypto().randomBytes(bytes).toString("hex");
}

/** 32 or more hex digits shaped as a version 4 UUID (the version and variant bits set), which every Backtrace server accepts. */
export function uuidFromHex(hex: string): string {
  const variant = ((parseInt(hex[16] ?? "0", 16) & 3) | 8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A random (version 4) UUID, as node:crypto's randomUUID makes, without loading node:crypto when it is not loaded yet. */
export function randomUuid(): string {
  return crypto !== undefined ? crypto.randomUUID() : uuidFromHex(randomHex(16));
}

/**
 * True on the process's main thread, told without loading worker_threads (over a millisecond) where it can be.
 * In worker threads Node replaces the process functions a worker may not call with stubs (`process.chdir` named
 * `unavailableInWorker`, marked `disabled`); on the main thread `process.chdir` is `wrappedChdir` (an unnamed wrapper
 * once worker_threads has loaded). A stub seen, or any other shape, asks worker_threads.
 */
export function isMainThread(): boolean {
  const marked = (fn: unknown): boolean => (fn as { disabled?: unknown } | undefined)?.disabled === true;
  const name = (process.chdir as { name?: unknown } | undefined)?.name;
  if (!marked(process.abort) && !marked(process.chdir) && (name === "wrappedChdir" || name === "")) return true;
  return lazyWorkers().isMainThread;
}

/**
 * What tells this process from any other, whichever of its threads asks, where the system says it (Linux): the
 * boot's id and the process's start time, in hex. Undefined elsewhere.
 */
export function processStart(): string | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "latin1");
    // The fields after the command's name (in parentheses, which may hold anything): state is field 3, starttime 22.
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "latin1").replace(/[^0-9a-f]/g, "").slice(0, 8);
    if (start === undefined || !/^\d+$/.test(start) || boot.length !== 8) return undefined;
    return `${boot}${BigInt(start).toString(16)}`;
  } catch {
    return undefined;
  }
}

/** The worker thread's id, or undefined on the main thread. */
export function workerThreadId(): number | undefined {
  return isMainThread() ? undefined : lazyWorkers().threadId;
}
