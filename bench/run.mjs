// Runs every benchmark (each script in its own process, which runs its samples in fresh
// processes) and writes bench/results/latest.json. Root: `npm run bench`.
// Options: --only a,b (benchmark names; the results then go to results/partial.json unless --out
// says otherwise, so latest.json always holds a whole run)  --runs N (overrides each default)
// --build (run the root `npm run build` first; by default the current dist builds are measured).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { CLIENTS } from "./clients/index.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { importPackage, snapshotBuilds } from "./lib/builds.mjs";
import { buildFixtures } from "./lib/fixtures.mjs";
import { writeJson } from "./lib/output.mjs";
import { checkTargets, metText } from "./lib/targets.mjs";

const args = parseArgs();
const benchDir = fileURLToPath(new URL(".", import.meta.url));
const rootDir = fileURLToPath(new URL("..", import.meta.url));
const resultsDir = fileURLToPath(new URL("results/", import.meta.url));

// Name, script, time limit. The limits keep the whole run under about 12 minutes (it takes about 9).
const BENCHMARKS = [
  ["import-init", "import-init.bench.mjs", 120_000],
  ["register", "register.bench.mjs", 120_000],
  ["capture-sync", "capture-sync.bench.mjs", 240_000],
  ["source-map", "source-map.bench.mjs", 90_000],
  ["burst", "burst.bench.mjs", 360_000],
  ["report-size", "report-size.bench.mjs", 120_000],
  ["install-size", "install-size.bench.mjs", 300_000],
  ["receiver", "receiver.bench.mjs", 360_000],
  ["pool-cpu", "pool-cpu.bench.mjs", 240_000],
  ["service", "service.bench.mjs", 600_000],
  ["stall-watchdog", "stall-watchdog.bench.mjs", 240_000],
];

function sh(cmd, argv, cwd, timeout = 300_000) {
  execFileSync(cmd, argv, { cwd, stdio: "inherit", timeout, env: cleanEnv() });
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

function gitCommit() {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: rootDir, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "packages"], { cwd: rootDir, encoding: "utf8" }).trim() !== "";
    return dirty ? `${commit} (packages/ has uncommitted changes)` : commit;
  } catch {
    return "unknown";
  }
}

let running; // the benchmark script now running, in its own process group with its workers

/** Kills the running benchmark and every process it started (they share its process group). */
function stopRunning(signal = "SIGKILL") {
  if (!running || running.exitCode !== null) return;
  try {
    process.kill(-running.pid, signal);
  } catch {
    running.kill(signal);
  }
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopRunning();
    process.exit(130);
  });
}

function runScript(script, extra, limitMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...extra], { cwd: benchDir, stdio: "inherit", env: cleanEnv(), detached: true });
    running = child;
    const timer = setTimeout(() => {
      console.log(`\n${script}: stopped after ${limitMs / 1000} s`);
      stopRunning();
    }, limitMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      running = undefined;
      resolve(signal ? `killed (${signal})` : code);
    });
  });
}

async function main() {
  const t0 = performance.now();
  if (!existsSync(new URL("node_modules/@sentry/node/package.json", import.meta.url)) || !existsSync(new URL("node_modules/@backtrace/node/package.json", import.meta.url))) {
    console.log("installing the benchmark's dependencies (npm ci in bench/)");
    sh("npm", ["ci", "--no-audit", "--no-fund"], benchDir);
  }
  if (args.build) {
    console.log("building the packages (npm run build at the root)");
    sh("npm", ["run", "build"], rootDir);
  }
  const clientSrc = fileURLToPath(new URL("../packages/client/src/", import.meta.url));
  const clientDist = fileURLToPath(new URL("../packages/client/dist/", import.meta.url));
  if (!existsSync(clientDist)) {
    console.log("packages/client/dist is missing: run `npm run build` at the root (or pass --build); backtrace-ts is skipped");
  } else if (newestMtime(clientSrc) > newestMtime(clientDist)) {
    console.log("warning: packages/client/src is newer than its dist; the numbers are for the last build (pass --build)");
  }
  await buildFixtures();
  // Measure a copy of the builds, so that a rebuild in the working tree cannot break the run.
  const snapshot = await snapshotBuilds(`${resultsDir}tmp`);
  if (snapshot.missing.length) console.log(`not built (skipped): ${snapshot.missing.join(", ")}`);
  process.env.BENCH_BUILDS = snapshot.modules;

  const only = args.only ? new Set(String(args.only).split(",")) : undefined;
  const results = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machine(),
    versions: {},
    benchmarks: {},
    exitCodes: {},
  };
  for (const name of Object.keys(CLIENTS)) {
    try {
      const adapter = await import(new URL(`./clients/${CLIENTS[name].slice(2)}`, import.meta.url).href);
      results.versions[name] = adapter.version();
    } catch {
      results.versions[name] = null;
    }
  }
  try {
    // backtrace-ts's defaults as built (the docs page names contextLineCount and concurrency).
    results.defaults = { ...(await importPackage("backtrace-ts")).defaults };
  } catch {
    results.defaults = null;
  }
  const tmpDir = `${resultsDir}tmp/`;
  for (const [name, script, limitMs] of BENCHMARKS) {
    if (only && !only.has(name)) continue;
    console.log(`\n=== ${name} ===`);
    const out = `${tmpDir}${name}.json`;
    const extra = ["--json", out];
    if (args.runs && name !== "install-size" && name !== "service") extra.push("--runs", String(args.runs));
    if (args.quick && name === "service") extra.push("--quick");
    rmSync(out, { force: true });
    const started = performance.now();
    results.exitCodes[name] = await runScript(script, extra, limitMs);
    try {
      results.benchmarks[name] = JSON.parse(readFileSync(out, "utf8"));
      results.benchmarks[name].durationMs = performance.now() - started;
    } catch {
      // no result written: the benchmark failed or was stopped; latest.json says so by omission
    }
  }
  results.machine.loadAverageAfter = os.loadavg().map((l) => Number(l.toFixed(2)));
  results.durationMs = performance.now() - t0;
  results.targets = checkTargets(results);
  const outFile = typeof args.out === "string" ? args.out : `${resultsDir}${only ? "partial" : "latest"}.json`;
  writeJson(outFile, results);

  console.log("\n=== targets ===");
  for (const t of results.targets) console.log(`${metText(t.met).padEnd(12)} ${t.issue} ${t.target}: ${t.value}`);
  console.log(`\nwrote ${outFile} in ${(results.durationMs / 1000).toFixed(0)} s; \`npm run bench:doc\` turns results/latest.json into docs/benchmarks.md`);
}

await main();
