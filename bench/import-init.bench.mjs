// (a) Import + initialize: time to import each client and to initialize it, and the RSS both
// add, each sample in a fresh process. Run alone: node bench/import-init.bench.mjs [--runs 7]
import { fileURLToPath } from "node:url";
import { availableClients, loadAdapter, OURS, PEERS } from "./clients/index.mjs";
import { parseArgs, report, runNode } from "./lib/child.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { startSink } from "./lib/sink.mjs";
import { peerRatios, summarizeRuns } from "./lib/stats.mjs";

const args = parseArgs();

async function worker() {
  const adapter = await loadAdapter(args.client);
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  await adapter.load();
  const t1 = performance.now();
  adapter.init({ url: args.url });
  const t2 = performance.now();
  const rss1 = process.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, 50));
  const rss2 = process.memoryUsage().rss;
  report({
    importMs: t1 - t0,
    initMs: t2 - t1,
    totalMs: t2 - t0,
    rssAddedMB: (Math.max(rss1, rss2) - rss0) / 1048576,
  });
  await adapter.close(1000).catch(() => {});
  process.exit(0);
}

export async function main() {
  const runs = Number(args.runs ?? 7);
  const clients = await availableClients(args.clients ? String(args.clients).split(",") : undefined);
  const sink = await startSink(); // nothing should be sent; it is there so no URL points nowhere
  const samples = Object.fromEntries(clients.map((c) => [c, []]));
  const errors = [];
  for (let r = 0; r < runs; r++) {
    for (const client of clients) {
      const res = await runNode(fileURLToPath(import.meta.url), ["--worker", "--client", client, "--url", sink.url], {
        timeoutMs: 30_000,
        execArgv: ["--expose-gc"],
      });
      if (res.error) errors.push({ client, error: res.error });
      else samples[client].push(res);
    }
  }
  const stats = await sink.stats();
  await sink.close();
  const byClient = Object.fromEntries(clients.map((c) => [c, summarizeRuns(samples[c])]));
  const ratios = peerRatios(byClient, OURS, PEERS, ["importMs", "initMs", "totalMs", "rssAddedMB"]);
  printTable(
    `import + initialize, ${runs} fresh processes each (median (min–max))`,
    ["client", "import ms", "init ms", "total ms", "RSS added MB"],
    clients.map((c) => [c, mmm(byClient[c].importMs), mmm(byClient[c].initMs), mmm(byClient[c].totalMs), mmm(byClient[c].rssAddedMB)]),
  );
  if (errors.length) console.log("errors:", errors);
  return emit(args, {
    benchmark: "import-init",
    runs,
    clients: byClient,
    ratios,
    samples,
    requestsDuringInit: stats.requests,
    errors,
  });
}

if (args.worker) await worker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
