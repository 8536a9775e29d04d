// (b, source maps) backtrace-ts only: the cost of resolving the 10 frames of the compiled
// fixture's error through its source map, the first time (reading and parsing the map) and after
// it (cached). The client ships as one bundle and does not expose its mapper, and the public API
// runs mapping off the caller's path without timing it, so this benchmark bundles the client's
// own source-map.ts and stack.ts (packages/client/src) with esbuild into bench/results/tmp at the
// start and times createSourceMapper().mapFrames(). Fresh process per run.
// Run alone: node bench/source-map.bench.mjs [--runs 3] [--iterations 2000]
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs, report, runNode } from "./lib/child.mjs";
import { buildFixtures, fixtureUrl } from "./lib/fixtures.mjs";
import { bundleClientSource } from "./lib/builds.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { median, percentile, summarizeRuns } from "./lib/stats.mjs";

const args = parseArgs();
const DEADLINE_MS = 20_000;

/** Bundles the client's mapper and stack parser from source; undefined when it does not build. */
function buildMapper() {
  return bundleClientSource({ "enrich/source-map.ts": ["createSourceMapper"], "capture/stack.ts": ["parseStack"] }, "source-mapper.mjs");
}

async function worker() {
  const iterations = Number(args.iterations ?? 2000);
  const { createSourceMapper, parseStack } = await import(pathToFileURL(args.mapper).href);
  const fixture = await import(fixtureUrl("mapped"));
  const frames = parseStack(fixture.makeError(1).stack);
  const mapper = createSourceMapper();

  let t0 = process.hrtime.bigint();
  const first = await mapper.mapFrames(frames);
  const firstUs = Number(process.hrtime.bigint() - t0) / 1000;
  const mappedToTs = first.filter((f) => typeof f.file === "string" && f.file.endsWith("deep.ts")).length;

  const warm = [];
  const warmSync = [];
  const deadline = performance.now() + DEADLINE_MS;
  for (let i = 0; i < iterations && performance.now() < deadline; i++) {
    const fresh = parseStack(fixture.makeError(i).stack); // new frame objects each time
    t0 = process.hrtime.bigint();
    await mapper.mapFrames(fresh);
    warm.push(Number(process.hrtime.bigint() - t0) / 1000);
    t0 = process.hrtime.bigint();
    mapper.mapFramesSync(fresh);
    warmSync.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  report({
    frames: frames.length,
    mappedToTs,
    firstUs,
    warmMedianUs: median(warm),
    warmP99Us: percentile(warm, 99),
    warmSyncMedianUs: median(warmSync),
    samples: warm.length,
  });
  process.exit(0);
}

export async function main() {
  const runs = Number(args.runs ?? 3);
  await buildFixtures();
  const mapper = await buildMapper();
  if (!mapper) return emit(args, { benchmark: "source-map", skipped: "the client's source-map.ts did not bundle" });
  const samples = [];
  const errors = [];
  for (let r = 0; r < runs; r++) {
    const res = await runNode(fileURLToPath(import.meta.url), ["--worker", "--mapper", mapper, "--iterations", String(args.iterations ?? 2000)], {
      timeoutMs: 60_000,
    });
    if (res.error) errors.push(res.error);
    else samples.push(res);
  }
  const s = summarizeRuns(samples);
  printTable(
    `backtrace-ts source-map resolution of a ${samples[0]?.frames ?? "?"}-frame stack, µs, ${runs} processes (median (min–max))`,
    ["first (read + parse map)", "cached, async", "cached p99", "cached, sync", "frames mapped to .ts"],
    [[mmm(s.firstUs), mmm(s.warmMedianUs), mmm(s.warmP99Us), mmm(s.warmSyncMedianUs), mmm(s.mappedToTs, 0)]],
  );
  if (errors.length) console.log("errors:", errors);
  return emit(args, { benchmark: "source-map", runs, results: s, samples, errors });
}

if (args.worker) await worker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
