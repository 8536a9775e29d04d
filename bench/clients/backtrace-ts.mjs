// Adapter for backtrace-ts (this repository's client, packages/client, built into dist/; loaded
// from the snapshot `npm run bench` takes, see lib/builds.mjs).
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importPackage, packageDir } from "../lib/builds.mjs";

export const name = "backtrace-ts";
export const pkg = "backtrace-ts";
export const sourceContext = "contextLineCount (default 200) lines around each frame, source maps applied";

// Each process gets its own spool folder, removed at exit, so that no run replays another's
// spooled reports and nothing is left in the user's cache folder. A process killed with SIGKILL (the
// service's children) runs no exit handler: the folders of processes that are gone are removed by the
// next process that loads this adapter, and by the benchmark's own process when it ends, after its children.
const root = join(tmpdir(), "backtrace-ts-bench-spools");
const spool = join(root, String(process.pid));

function removeGone() {
  let names;
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if (error.code === "ESRCH") rmSync(join(root, name), { recursive: true, force: true });
    }
  }
}

removeGone();
process.once("exit", () => {
  rmSync(spool, { recursive: true, force: true });
  removeGone();
});

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
