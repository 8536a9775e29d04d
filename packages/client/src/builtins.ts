// Node built-ins that take milliseconds to load, loaded on first use so that importing the client stays cheap.
import { createRequire } from "node:module";

type Net = typeof import("node:net");
type Tls = typeof import("node:tls");
type Workers = typeof import("node:worker_threads");
type FsPromises = typeof import("node:fs/promises");
type Inspector = typeof import("node:inspector");

// Built-ins resolve the same from anywhere; the executable's path is an absolute path on every platform.
const load = createRequire(process.execPath);
let net: Net | undefined;
let tls: Tls | undefined;
let workers: Workers | undefined;
let fsPromises: FsPromises | undefined;
let inspector: Inspector | undefined;

export const lazyNet = (): Net => (net ??= load("node:net") as Net);
export const lazyTls = (): Tls => (tls ??= load("node:tls") as Tls);
export const lazyWorkers = (): Workers => (workers ??= load("node:worker_threads") as Workers);
export const lazyFsPromises = (): FsPromises => (fsPromises ??= load("node:fs/promises") as FsPromises);
export const lazyInspector = (): Inspector => (inspector ??= load("node:inspector") as Inspector);

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
