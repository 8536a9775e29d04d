// Adapter for backtrace-ts (this repository's client, packages/client, built into dist/).
import { createRequire } from "node:module";

export const name = "backtrace-ts";
export const pkg = "backtrace-ts";
export const sourceContext = "contextLineCount lines around each frame, source maps applied";

let bt;

export function version() {
  return createRequire(import.meta.url)("backtrace-ts/package.json").version;
}

/** True once the public API this adapter uses is built (npm run build at the root). */
export async function ready() {
  try {
    const mod = await import("backtrace-ts");
    return typeof mod.initialize === "function" && typeof mod.sendException === "function";
  } catch {
    return false;
  }
}

export async function load() {
  bt = await import("backtrace-ts");
  return bt;
}

export function init({ url }) {
  bt.initialize({ endpoint: url, token: "bench" });
}

export function capture(error) {
  bt.sendException(error);
}

export async function flush(timeoutMs) {
  await bt.flush(timeoutMs / 1000);
}

export async function close(timeoutMs) {
  await bt.flush(timeoutMs / 1000);
  await bt.finalize?.();
}

/** The client's own counters, when it exposes them (for diagnostics in results). */
export function counters() {
  return bt.counters?.() ?? bt.getClient?.()?.counters?.() ?? null;
}
