// Adapter for @sentry/node: Sentry.init with a DSN on the loopback sink, captureException.
import { createRequire } from "node:module";

export const name = "@sentry/node";
export const pkg = "@sentry/node";
export const sourceContext = "ContextLines integration (default, 7 lines, read asynchronously)";

let Sentry;

export function version() {
  return createRequire(import.meta.url)("@sentry/node/package.json").version;
}

export async function load() {
  Sentry = await import("@sentry/node");
  return Sentry;
}

/** `url` is the sink's base URL (http://127.0.0.1:PORT); Sentry's defaults are kept otherwise. */
export function init({ url }) {
  const { host } = new URL(url);
  Sentry.init({ dsn: `http://public@${host}/1` });
}

export function capture(error) {
  Sentry.captureException(error);
}

export async function flush(timeoutMs) {
  await Sentry.flush(timeoutMs);
}

export async function close(timeoutMs) {
  await Sentry.close(timeoutMs);
}
