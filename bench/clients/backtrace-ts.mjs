// Adapter for backtrace-ts (this repository's client, packages/client, built into dist/; loaded
// from the snapshot `npm run bench` takes, see lib/builds.mjs).
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importPackage, packageDir } from "../lib/builds.mjs";

export const name = "backtrace-ts";
export const pkg = "backtrace-ts";
export const sourceContext = "contextLineCount (default 200) lines around each frame, source maps applied";

// Each process gets its own spool folder, removed at exit, so that no run replays another's
// spooled reports and nothing is left in the user's cache folder.
const spool = join(tmpdir(), `backtrace-ts-bench-spool-${process.pid}`);
process.once("exit", () => rmSync(spool, { recursive: true, force: true }));

let bt;

export function version() {
  return JSON.parse(readFileSync(join(packageDir("backtrace-ts"), "package.json"), "utf8")).version;
}

/** True once the public API this adapter uses is built (npm run build at the root). */
export async function ready() {
  try {
    const mod = await importPackage("backtrace-ts");
    return typeof mod.initialize === "function" && typeof mod.sendException === "function";
  } catch {
    return false;
  }
}

export async function load() {
  bt = await importPackage("backtrace-ts");
  return bt;
}

/** `url` is the sink's base URL; everything but the spool folder is left at its default (unless `options` says). */
export function init({ url, options = {} }) {
  bt.initialize({ endpoint: url, token: "bench", spool, ...options });
}

export function capture(error) {
  bt.sendException(error);
}

export async function flush(timeoutMs) {
  await bt.flush(timeoutMs / 1000);
}

export async function close(timeoutMs) {
  await bt.flush(timeoutMs / 1000);
  await bt.finalize();
}

/** The client's own counters (sent, dropped by reason, spooled, ...), kept in the results. */
export function counters() {
  return bt.getClient?.()?.counters?.() ?? null;
}
