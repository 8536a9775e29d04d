// Adapter for @backtrace/node: BacktraceClient.initialize({ url }) and client.send(error).
import { createRequire } from "node:module";

export const name = "@backtrace/node";
export const pkg = "@backtrace/node";
export const sourceContext = "none (the SDK collects no source code in process)";

let mod;
let client;
const pending = new Set();

export function version() {
  return createRequire(import.meta.url)("@backtrace/node/package.json").version;
}

export async function load() {
  mod = await import("@backtrace/node");
  return mod;
}

/**
 * Metrics are turned off: they would be sent to events.backtrace.io, off this machine. The SDK
 * refuses to start without `application` and `application.version`, which it looks for in the
 * main module's package.json; the benchmark's workers have none, so they are given here.
 */
export function init({ url }) {
  client = mod.BacktraceClient.initialize({
    url: `${url}/post?format=json&token=bench`,
    metrics: { enable: false },
    userAttributes: { application: "bench", "application.version": "1.0.0" },
  });
}

export function capture(error) {
  const p = client.send(error);
  pending.add(p);
  const done = () => pending.delete(p);
  p.then(done, done);
}

/** The SDK has no flush: wait for the promises send() returned, bounded by timeoutMs. */
export async function flush(timeoutMs) {
  let timer;
  await Promise.race([
    Promise.allSettled([...pending]),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
}

export async function close(timeoutMs) {
  await flush(timeoutMs);
  client?.dispose?.();
}
