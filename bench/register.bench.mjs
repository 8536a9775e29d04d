// What `node --import backtrace-ts/register` (and --require, and each integration subpath) adds to `node -e 0`:
// wall time of fresh processes, alternating, medians. No endpoint is set, as in a process that does not report.
// Run alone: node bench/register.bench.mjs [--runs 21]
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageDir } from "./lib/builds.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { emit, printTable } from "./lib/output.mjs";
import { median } from "./lib/stats.mjs";

const args = parseArgs();
const dist = join(packageDir("backtrace-ts"), "dist");
const fixtures = fileURLToPath(new URL("fixtures/", import.meta.url));
const manifest = JSON.parse(readFileSync(join(packageDir("backtrace-ts"), "package.json"), "utf8"));
/** The file `import "backtrace-ts/<name>"` loads. */
function subpath(name) {
  const target = manifest.exports[`./${name}`]?.import;
  return join(packageDir("backtrace-ts"), typeof target === "string" ? target : target.default);
}
// Any --import starts Node's ES module loader and any --require the CommonJS one: an empty preload is the fair floor.
const cases = {
  "node -e 0": [],
  "--import empty.mjs": ["--import", join(fixtures, "empty.mjs")],
  "--require empty.cjs": ["--require", join(fixtures, "empty.cjs")],
  "--import register": ["--import", join(dist, "register.mjs")],
  "--require register": ["--require", join(dist, "register.cjs")],
  // The five framework subpaths (express, fastify, koa, http, lambda), each as its package.json export resolves it.
  ...Object.fromEntries(["express", "fastify", "koa", "http", "lambda"].map((name) => [`--import ${name}`, ["--import", subpath(name)]])),
  "--import backtrace-ts (main)": ["--import", join(dist, "index.mjs")],
};

export async function main() {
  const runs = Number(args.runs ?? 21);
  const env = cleanEnv({ BACKTRACE_ENDPOINT: "" });
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let r = 0; r < runs + 2; r++) {
    for (const [name, flags] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, [...flags, "-e", "0"], { env, stdio: "ignore" });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.status !== 0) throw new Error(`${name} exited with ${res.status}`);
      if (r >= 2) samples[name].push(ms); // the first two rounds warm the file cache
    }
  }
  const base = median(samples["node -e 0"]);
  const floor = (name) => median(samples[name.startsWith("--require") ? "--require empty.cjs" : name.startsWith("--import") ? "--import empty.mjs" : "node -e 0"]);
  const rows = Object.keys(cases).map((name) => [name, median(samples[name]).toFixed(1), (median(samples[name]) - base).toFixed(1), (median(samples[name]) - floor(name)).toFixed(1)]);
  printTable(`process wall time, ${runs} fresh processes each (median)`, ["case", "ms", "added to node -e 0", "added to an empty preload"], rows);
  const byCase = Object.fromEntries(Object.keys(cases).map((name) => [name, { medianMs: median(samples[name]), addedMs: median(samples[name]) - base, overEmptyPreloadMs: median(samples[name]) - floor(name) }]));
  return emit(args, { runs, byCase });
}

if (!args.worker) await main();
