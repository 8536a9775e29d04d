// The stall watchdog's idle cost: process CPU of an idle process with stallThreshold, against the same process
// without the watchdog. Several rounds, each a pair run side by side (which one starts first alternates);
// reported per run, as medians with their spread, and as the median of the paired differences.
// `node bench/stall-watchdog.bench.mjs [--seconds 30] [--rounds 5] [--threshold 1] [--settle 12] [--lib path/index.cjs]`
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const argAt = (name) => process.argv.indexOf(`--${name}`);
// `--lib <index.cjs>` measures another build (an earlier commit's dist, copied aside) against the same baseline.
const lib = argAt("lib") > 0 ? process.argv[argAt("lib") + 1] : fileURLToPath(new URL("../packages/client/dist/index.cjs", import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at > 0 ? Number(process.argv[at + 1]) : NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const seconds = arg("seconds", 30);
const rounds = arg("rounds", 5);
const threshold = arg("threshold", 1);
// The client's own start goes on for about ten seconds (V8's compile and GC tasks after loading: some 15 ms of CPU
// between the 5th and the 10th second, none after): measuring from the settle on keeps that out of both sides,
// so the difference is the watchdog's and not that noise.
const settle = arg("settle", 12);

const child = (stallThreshold) => `
  const bt = require(${JSON.stringify(lib)});
  bt.initialize({ endpoint: "http://127.0.0.1:9/", token: "t", spool: ${JSON.stringify(mkdtempSync(join(tmpdir(), "bt-bench-stall-")))}, stallThreshold: ${stallThreshold}, breadcrumbs: false });
  setTimeout(() => {
    const start = process.cpuUsage();
    setTimeout(() => {
      const used = process.cpuUsage(start);
      process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000 }));
    }, ${seconds * 1000});
  }, ${settle * 1000});
`;

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
for (let i = 0; i < rounds; i++) {
  // Both of a pair see the same machine; the one started first alternates.
  const [a, b] = i % 2 === 0 ? await Promise.all([run(0), run(threshold)]) : (await Promise.all([run(threshold), run(0)])).reverse();
  without.push(a);
  withWatchdog.push(b);
  console.error(`round ${i + 1}/${rounds}: without ${round1(a)} ms, with ${round1(b)} ms`);
}
const differences = withWatchdog.map((value, i) => value - without[i]);
const result = {
  seconds,
  rounds,
  stallThreshold: threshold,
  processCpuMsWithout: spread(without),
  processCpuMsWith: spread(withWatchdog),
  watchdogCpuMs: spread(differences),
  runs: without.map((value, i) => ({ without: round1(value), with: round1(withWatchdog[i]) })),
};
console.log(JSON.stringify(result, null, 2));
