// (d) Bytes per report: what arrives at the loopback sink for the same error (the fixture's
// 10-frame StorageError, source context on where the client has it): the request body as sent
// (wire, compressed if the client compresses) and after decoding. Fresh process per run.
// Run alone: node bench/report-size.bench.mjs [--runs 3]
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { availableClients, loadAdapter, OURS, PEERS } from "./clients/index.mjs";
import { parseArgs, report, runNode } from "./lib/child.mjs";
import { fixtureUrl } from "./lib/fixtures.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { startSink } from "./lib/sink.mjs";
import { median, peerRatios, summarizeByFixture } from "./lib/stats.mjs";

const args = parseArgs();
const REPORTS = 5; // per process, one at a time

async function worker() {
  const fixture = await import(fixtureUrl(args.fixture ?? "plain"));
  const adapter = await loadAdapter(args.client);
  await adapter.load();
  adapter.init({ url: args.url });
  for (let i = 0; i < REPORTS; i++) {
    adapter.capture(fixture.makeError(7));
    await adapter.flush(5000);
  }
  await adapter.close(5000).catch(() => {});
  report({ sent: REPORTS });
  process.exit(0);
}

export async function main() {
  const runs = Number(args.runs ?? 3);
  const fixtures = ["plain", "mapped"];
  const clients = await availableClients(args.clients ? String(args.clients).split(",") : undefined);
  const sink = await startSink({ keepBodies: 1 });
  const samples = {};
  const errors = [];
  const sampleDir = fileURLToPath(new URL("results/samples/", import.meta.url));
  mkdirSync(sampleDir, { recursive: true });
  for (let r = 0; r < runs; r++) {
    for (const fixture of fixtures) {
      for (const client of clients) {
        sink.reset();
        const res = await runNode(fileURLToPath(import.meta.url), ["--worker", "--client", client, "--fixture", fixture, "--url", sink.url], {
          timeoutMs: 60_000,
        });
        if (res.error) {
          errors.push({ client, fixture, error: res.error });
          continue;
        }
        const st = sink.stats();
        (samples[`${fixture}:${client}`] ??= []).push({
          reports: st.reports,
          wireBytes: median(st.wireBytes),
          decodedBytes: median(st.decodedBytes),
        });
        const [body] = sink.bodies();
        if (r === 0 && body) {
          writeFileSync(`${sampleDir}/${fixture}-${client.replace(/[@/]/g, "_")}.txt`, `${JSON.stringify(body.headers, null, 2)}\n\n${body.body}`);
        }
      }
    }
  }
  await sink.close();
  const results = summarizeByFixture(samples, fixtures, clients);
  const ratios = peerRatios(results.plain, OURS, PEERS, ["decodedBytes"]);
  printTable(
    `bytes per report, same error, ${runs} processes × ${REPORTS} reports (median (min–max))`,
    ["client", "fixture", "wire bytes", "decoded bytes"],
    fixtures.flatMap((f) => clients.map((c) => [c, f, mmm(results[f][c].wireBytes, 0), mmm(results[f][c].decodedBytes, 0)])),
  );
  if (errors.length) console.log("errors:", errors);
  return emit(args, { benchmark: "report-size", runs, results, ratios, errors });
}

if (args.worker) await worker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
