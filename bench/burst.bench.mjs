// (c) Burst: 5,000 captures from one synchronous loop, sent to a loopback sink in its own
// process. Measures what the sink got (delivered, lost), the time from the loop's start to the
// last arrival, TCP connections that carried a report, the client process's heap and RSS growth
// (peak over the burst minus the level before it; sampled every 20 ms and right after the loop,
// so garbage not yet collected counts), the heap still held after the flush and a full GC, and
// event-loop delay (p99 and max) from the loop's start until the client's flush resolves, and from the loop's end
// until then (the client's background work alone: the loop of captures is the application's own stall).
// Fresh process per run. Run alone: node bench/burst.bench.mjs [--runs 5] [--count 5000]
import { fork } from "node:child_process";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { availableClients, loadAdapter, OURS, PEERS } from "./clients/index.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { fixtureUrl } from "./lib/fixtures.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { nowMs, startSinkProcess } from "./lib/sink.mjs";
import { peerRatios, summarizeRuns } from "./lib/stats.mjs";

const args = parseArgs();
const FLUSH_LIMIT_MS = 60_000; // the client's flush is given at most this long
const QUIET_MS = 3_000; // the sink is settled after this long without a new report...
const RUN_LIMIT_MS = 90_000; // ...or this long after the loop started, whichever first

const MB = 1048576;

async function worker() {
  process.on("disconnect", () => process.exit(0)); // the parent is gone: stop
  const count = Number(args.count ?? 5000);
  const fixture = await import(fixtureUrl("plain"));
  const adapter = await loadAdapter(args.client);
  await adapter.load();
  adapter.init({ url: args.url });
  // Warm up the capture path and file caches with one report, so the burst measures steady work;
  // then the parent resets the sink's counts and says go.
  adapter.capture(fixture.makeError(-1));
  await adapter.flush(5000);
  process.send({ type: "ready" });
  await new Promise((resolve) => process.once("message", resolve));

  globalThis.gc?.();
  const base = process.memoryUsage();
  let peakHeap = base.heapUsed;
  let peakRss = base.rss;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    if (m.rss > peakRss) peakRss = m.rss;
  };
  const sampler = setInterval(sample, 20);
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  // The histogram records the gap between two of its timer ticks: let it tick before the loop,
  // or the loop's own stall would go unrecorded.
  await new Promise((r) => setTimeout(r, 10));

  const start = nowMs();
  for (let i = 0; i < count; i++) adapter.capture(fixture.makeError(i));
  const loopEnd = nowMs();
  // From the loop's end on: the client's own background work alone (the application's loop is not in it).
  const afterLoop = monitorEventLoopDelay({ resolution: 1 });
  afterLoop.enable();
  sample();
  await adapter.flush(FLUSH_LIMIT_MS).catch(() => {});
  const flushEnd = nowMs();
  loopDelay.disable();
  afterLoop.disable();
  sample();

  globalThis.gc?.();
  const retained = process.memoryUsage().heapUsed - base.heapUsed;
  process.send({ type: "flushed", start, loopEnd, flushEnd });
  // Keep sampling until the parent has seen the sink settle, then report and leave.
  await new Promise((resolve) => process.once("message", resolve));
  clearInterval(sampler);
  sample();
  process.send(
    {
      type: "result",
      start,
      loopMs: loopEnd - start,
      flushMs: flushEnd - start,
      heapGrowthMB: (peakHeap - base.heapUsed) / MB,
      rssGrowthMB: (peakRss - base.rss) / MB,
      heapRetainedMB: retained / MB,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      afterLoopDelayP99Ms: afterLoop.count > 0 ? afterLoop.percentile(99) / 1e6 : null,
      afterLoopDelayMaxMs: afterLoop.count > 0 ? afterLoop.max / 1e6 : null,
      afterLoopDelaySamples: afterLoop.count,
      counters: adapter.counters?.() ?? null,
    },
    () => process.exit(0),
  );
}

/** Runs one burst for one client against a fresh sink count; bounded by RUN_LIMIT_MS. */
async function runOnce(client, sink, count) {
  const child = fork(fileURLToPath(import.meta.url), ["--worker", "--client", client, "--url", sink.url, "--count", String(count)], {
    env: cleanEnv(),
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const messages = [];
  let wake;
  child.on("message", (m) => {
    messages.push(m);
    wake?.();
  });
  child.on("exit", () => wake?.());
  const next = (type, ms) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      const check = () => {
        const m = messages.find((x) => x.type === type);
        if (m || child.exitCode !== null) {
          clearTimeout(timer);
          wake = undefined;
          resolve(m);
        } else wake = check;
      };
      check();
    });
  const hardStop = setTimeout(() => child.kill("SIGKILL"), RUN_LIMIT_MS + 60_000);
  try {
    const ready = await next("ready", 30_000);
    if (!ready) return { error: `worker not ready: ${stderr.trim().split("\n").slice(-3).join(" | ")}` };
    await new Promise((r) => setTimeout(r, 200)); // let the warm-up request finish at the sink
    await sink.reset();
    const sinkCpu0 = (await sink.stats()).cpuMs;
    child.send({ type: "go" });
    const flushed = await next("flushed", RUN_LIMIT_MS);
    if (!flushed) return { error: `no flush within ${RUN_LIMIT_MS} ms: ${stderr.trim().split("\n").slice(-3).join(" | ")}` };
    // Wait for the sink to settle: all reports in, or no new one for QUIET_MS, or the limit.
    // A report merged from duplicates (`_mod_duplicate=n`, backtrace-ts by default) accounts for n captures.
    const accounted = (s) => s.uniqueIds + Math.max(0, s.occurrences - s.reports);
    let stats = await sink.stats();
    let lastChange = nowMs();
    let lastCount = accounted(stats);
    while (accounted(stats) < count && nowMs() - lastChange < QUIET_MS && nowMs() - flushed.start < RUN_LIMIT_MS) {
      await new Promise((r) => setTimeout(r, 100));
      stats = await sink.stats();
      if (accounted(stats) !== lastCount) {
        lastCount = accounted(stats);
        lastChange = nowMs();
      }
    }
    child.send({ type: "done" });
    const result = await next("result", 10_000);
    if (!result) return { error: "no result from the worker" };
    return {
      delivered: accounted(stats),
      reports: stats.reports,
      lost: Math.max(0, count - accounted(stats)),
      duplicates: stats.reports - stats.uniqueIds,
      timeToLastMs: stats.lastArrival != null ? stats.lastArrival - result.start : null,
      connections: stats.socketsUsed,
      newConnections: stats.connections,
      requests: stats.requests,
      // The sink's own CPU over the run: near 1,000 ms per second of run would mean it set the pace.
      sinkCpuMs: stats.cpuMs - sinkCpu0,
      loopMs: result.loopMs,
      flushMs: result.flushMs,
      heapGrowthMB: result.heapGrowthMB,
      rssGrowthMB: result.rssGrowthMB,
      heapRetainedMB: result.heapRetainedMB,
      loopDelayP99Ms: result.loopDelayP99Ms,
      loopDelayMaxMs: result.loopDelayMaxMs,
      afterLoopDelayP99Ms: result.afterLoopDelayP99Ms,
      afterLoopDelayMaxMs: result.afterLoopDelayMaxMs,
      otherItems: stats.otherItems,
      counters: result.counters,
    };
  } finally {
    clearTimeout(hardStop);
    if (child.exitCode === null) await new Promise((r) => (child.once("exit", r), setTimeout(r, 3000)));
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

export async function main() {
  const runs = Number(args.runs ?? 5); // five: the time ratio moves with the machine from run to run
  const count = Number(args.count ?? 5000);
  const clients = await availableClients(args.clients ? String(args.clients).split(",") : undefined);
  const sink = await startSinkProcess();
  const samples = Object.fromEntries(clients.map((c) => [c, []]));
  const errors = [];
  for (let r = 0; r < runs; r++) {
    for (const client of clients) {
      const res = await runOnce(client, sink, count);
      if (res.error) errors.push({ client, error: res.error });
      else samples[client].push(res);
    }
  }
  await sink.close();
  const byClient = Object.fromEntries(clients.map((c) => [c, summarizeRuns(samples[c])]));
  const ratios = peerRatios(byClient, OURS, PEERS, ["timeToLastMs", "connections", "heapGrowthMB", "rssGrowthMB", "loopDelayP99Ms"]);
  printTable(
    `burst of ${count} captures from one loop, ${runs} runs (median (min–max))`,
    ["client", "delivered", "lost", "to last arrival ms", "connections", "heap MB", "RSS MB", "loop p99 ms", "loop max ms", "after-loop p99 ms"],
    clients.map((c) => {
      const s = byClient[c];
      return [c, mmm(s.delivered, 0), mmm(s.lost, 0), mmm(s.timeToLastMs, 0), mmm(s.connections, 0), mmm(s.heapGrowthMB), mmm(s.rssGrowthMB), mmm(s.loopDelayP99Ms), mmm(s.loopDelayMaxMs, 0), mmm(s.afterLoopDelayP99Ms)];
    }),
  );
  if (errors.length) console.log("errors:", errors);
  return emit(args, { benchmark: "burst", runs, count, clients: byClient, ratios, samples, errors });
}

if (args.worker) await worker();
else if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
