// The stall watchdog's idle cost: process CPU of an idle process with stallThreshold, against the same process
// without the watchdog. Several rounds, each a pair run side by side (which one starts first alternates);
// reported per run, as medians with their spread, and as the median of the paired differences. Next to it, the
// floor of any watchdog that looks once per threshold: a bare worker thread that wakes from `Atomics.wait` once per
// threshold and reads the process's CPU time, nothing else (run in the same rounds, alongside).
// `node bench/stall-watchdog.bench.mjs [--seconds 30] [--runs 3] [--threshold 1] [--settle 12] [--lib path/index.cjs] [--json out.json]`
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageDir } from "./lib/builds.mjs";
import { parseArgs } from "./lib/child.mjs";
import { emit } from "./lib/output.mjs";

const args = parseArgs();
// `--lib <index.cjs>` measures another build (an earlier commit's dist, copied aside) against the same baseline.
const lib = typeof args.lib === "string" ? args.lib : join(packageDir("backtrace-ts"), "dist", "index.cjs");
const arg = (name, fallback) => {
  const value = Number(args[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const seconds = arg("seconds", 30);
const rounds = arg("runs", arg("rounds", 3));
const threshold = arg("threshold", 1);
// The client's own start goes on for about ten seconds (V8's compile and GC tasks after loading: some 15 ms of CPU
// between the 5th and the 10th second, none after): measuring from the settle on keeps that out of both sides,
// so the difference is the watchdog's and not that noise.
const settle = arg("settle", 12);

// "floor": no client, a bare worker that wakes once per threshold and reads the CPU time (what any watchdog that
// looks once per threshold pays at least); otherwise the client with that stallThreshold (0: no watchdog).
const clientSource = (stallThreshold) =>
  `require(${JSON.stringify(lib)}).initialize({ endpoint: "http://127.0.0.1:9/", token: "t", spool: ${JSON.stringify(mkdtempSync(join(tmpdir(), "bt-bench-stall-")))}, stallThreshold: ${stallThreshold}, breadcrumbs: false });`;
const child = (stallThreshold) => `
  ${stallThreshold === "floor" ? floorSource() : clientSource(stallThreshold)}
  setTimeout(() => {
    const start = process.cpuUsage();
    setTimeout(() => {
      const used = process.cpuUsage(start);
      process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000 }));
    }, ${seconds * 1000});
  }, ${settle * 1000});
`;

function floorSource() {
  const thread = `const s = new Int32Array(new SharedArrayBuffer(4)); let used = 0; for (;;) { Atomics.wait(s, 0, 0, ${threshold * 1000}); const u = process.cpuUsage(); used = u.user + u.system; }`;
  return `new (require("node:worker_threads").Worker)(${JSON.stringify(thread)}, { eval: true }).unref();`;
}

function run(stallThreshold) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["-e", child(stallThreshold)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (chunk) => (out += chunk));
    proc.on("close", (code) => (code === 0 ? resolve(JSON.parse(out).cpuMs) : reject(new Error(`child exited with ${code}`))));
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round1 = (value) => Math.round(value * 10) / 10;
const spread = (values) => ({ median: round1(median(values)), min: round1(Math.min(...values)), max: round1(Math.max(...values)) });

const without = [];
const withWatchdog = [];
const floor = [];
for (let i = 0; i < rounds; i++) {
  // The three of a round see the same machine; the order they start in rotates.
  const kinds = [0, threshold, "floor"];
  const order = kinds.map((_, k) => kinds[(k + i) % kinds.length]);
  const measured = await Promise.all(order.map(run));
  const of = (kind) => measured[order.indexOf(kind)];
  without.push(of(0));
  withWatchdog.push(of(threshold));
  floor.push(of("floor"));
  console.error(`round ${i + 1}/${rounds}: without ${round1(of(0))} ms, with ${round1(of(threshold))} ms, bare waking thread ${round1(of("floor"))} ms`);
}
const differences = withWatchdog.map((value, i) => value - without[i]);
const result = emit(args, {
  seconds,
  settle,
  rounds,
  stallThreshold: threshold,
  processCpuMsWithout: spread(without),
  processCpuMsWith: spread(withWatchdog),
  watchdogCpuMs: spread(differences),
  floorCpuMs: spread(floor.map((value, i) => value - without[i])),
  runs: without.map((value, i) => ({ without: round1(value), with: round1(withWatchdog[i]), floor: round1(floor[i]) })),
});
console.log(JSON.stringify(result, null, 2));
