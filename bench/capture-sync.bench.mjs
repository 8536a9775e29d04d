// (b) Synchronous capture latency: the time the capture call holds the caller, for an Error
// thrown 10 frames deep in a ~300-line file (source context on where the client has it), with a
// plain JavaScript fixture and with a TypeScript fixture compiled by esbuild with a source map
// beside it. The floor is throwing the error and reading err.stack. Fresh process per sample.
// Run alone: node bench/capture-sync.bench.mjs [--runs 3] [--iterations 1000]
import { fileURLToPath } from "node:url";
import { availableClients, loadAdapter, OURS, PEERS } from "./clients/index.mjs";
import { parseArgs, report, runNode } from "./lib/child.mjs";
import { buildFixtures, fixtureUrl } from "./lib/fixtures.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { startSinkProcess } from "./lib/sink.mjs";
import { median, peerRatios, percentile, summarizeByFixture } from "./lib/stats.mjs";

const args = parseArgs();
const WARMUP = 50; // captures before timing; they also fill the clients' file and map caches
const BATCH = 20; // captures between flushes, so that background sending keeps up
const DEADLINE_MS = 25_000; // a worker stops timing after this, whatever the iteration count

const tick = () => new Promise((resolve) => setImmediate(resolve));
const micros = (t0, t1) => Number(t1 - t0) / 1000;

async function worker() {
  const iterations = Number(args.iterations ?? 1000);
  const fixture = await import(fixtureUrl(args.fixture));
  const adapter = args.client === "none" ? null : await loadAdapter(args.client);
  if (adapter) {
    await adapter.load();
    adapter.init({ url: args.url });
  }
  const deadline = performance.now() + DEADLINE_MS;

  // Warm-up: the first reports read the fixture (and its source map) from disk.
  if (adapter) {
    for (let i = 0; i < WARMUP; i++) {
      adapter.capture(fixture.makeError(i));
      await tick();
    }
    await adapter.flush(5000);
  }

  // Floor: throw 10 frames deep, catch, read err.stack (V8 formats it on first read).
  const floor = [];
  let sink = 0;
  for (let i = 0; i < iterations && performance.now() < deadline; i++) {
    const t0 = process.hrtime.bigint();
    const error = fixture.makeError(i);
    sink += error.stack.length;
    floor.push(micros(t0, process.hrtime.bigint()));
  }

  // Capture: only the synchronous call is timed; the error is freshly thrown and its stack not
  // yet read, so the call pays for formatting it, as it would in an application.
  const capture = [];
  if (adapter) {
    for (let i = 0; i < iterations && performance.now() < deadline; ) {
      for (let j = 0; j < BATCH && i < iterations; j++, i++) {
        const error = fixture.makeError(WARMUP + i);
        const t0 = process.hrtime.bigint();
        adapter.capture(error);
        capture.push(micros(t0, process.hrtime.bigint()));
        await tick();
      }
      await adapter.flush(5000);
    }
    await adapter.close(5000).catch(() => {});
  }
  report({
    floorMedianUs: median(floor),
    floorP99Us: percentile(floor, 99),
    captureMedianUs: capture.length ? median(capture) : null,
    captureP99Us: capture.length ? percentile(capture, 99) : null,
    captureMaxUs: capture.length ? Math.max(...capture) : null,
    samples: capture.length,
    checksum: sink,
  });
  process.exit(0);
}

export async function main() {
  const runs = Number(args.runs ?? 3);
  const iterations = Number(args.iterations ?? 1000);
  const fixtures = args.fixture ? [String(args.fixture)] : ["plain", "mapped"];
  const clients = ["none", ...(await availableClients(args.clients ? String(args.clients).split(",") : undefined))];
  await buildFixtures();
  const sink = await startSinkProcess();
  const samples = {};
  const errors = [];
  for (let r = 0; r < runs; r++) {
    for (const fixture of fixtures) {
      for (const client of clients) {
        const res = await runNode(
          fileURLToPath(import.meta.url),
          ["--worker", "--client", client, "--fixture", fixture, "--url", sink.url, "--iterations", String(iterations)],
          { timeoutMs: 60_000 },
        );
        const key = `${fixture}:${client}`;
        samples[key] ??= [];
        if (res.error) errors.push({ client, fixture, error: res.error });
        else samples[key].push(res);
      }
    }
  }
  const received = await sink.stats();
  await sink.close();

  const results = summarizeByFixture(samples, fixtures, clients);
  const ratios = {};
  for (const fixture of fixtures) {
    if (!results[fixture][OURS]) continue;
    ratios[fixture] = peerRatios(results[fixture], OURS, PEERS, ["captureMedianUs", "captureP99Us"]);
  }
  for (const fixture of fixtures) {
    printTable(
      `synchronous capture, ${fixture} fixture, µs, ${runs} processes × ${iterations} captures (median of runs (min–max))`,
      ["client", "capture median", "capture p99", "floor median (throw + stack)"],
      clients.map((c) => {
        const s = results[fixture][c];
        return [c, mmm(s.captureMedianUs), mmm(s.captureP99Us), mmm(s.floorMedianUs)];
      }),
    );
  }
  if (errors.length) console.log("errors:", errors);
  return emit(args, {
    benchmark: "capture-sync",
    runs,
    iterations,
    results,
    ratios,
    reportsReceived: received.reports,
    errors,
  });
}

if (args.worker) await worker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
