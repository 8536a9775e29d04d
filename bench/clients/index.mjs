// The clients the benchmarks compare, by name; ours first.
export const CLIENTS = {
  "backtrace-ts": "./backtrace-ts.mjs",
  "@backtrace/node": "./backtrace-node.mjs",
  "@sentry/node": "./sentry-node.mjs",
};

export const OURS = "backtrace-ts";
export const PEERS = ["@backtrace/node", "@sentry/node"];

export async function loadAdapter(name) {
  const file = CLIENTS[name];
  if (!file) throw new Error(`unknown client ${name}; known: ${Object.keys(CLIENTS).join(", ")}`);
  return import(new URL(file, import.meta.url).href);
}

/** Which clients can run here: ours needs packages/client/dist (npm run build at the root). */
export async function availableClients(wanted = Object.keys(CLIENTS)) {
  const out = [];
  for (const name of wanted) {
    try {
      const adapter = await loadAdapter(name);
      adapter.version();
      if (adapter.ready && !(await adapter.ready())) continue;
      out.push(name);
    } catch {
      // not installed or not built: skipped, and the results say so
    }
  }
  return out;
}
