// Runs one benchmark sample in a fresh Node process and returns the JSON it reports.
import { spawn } from "node:child_process";

const RESULT_PREFIX = "BENCH_RESULT ";

/** Environment for measured processes: no loaders, no SDK settings inherited from the shell. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "NODE_OPTIONS" || k.startsWith("SENTRY_") || k.startsWith("BACKTRACE_")) continue;
    if (k.startsWith("OTEL_") || k === "NODE_DEBUG") continue;
    env[k] = v;
  }
  return { ...env, NODE_ENV: "production", ...extra };
}

/** Called by a worker process to hand its result to the parent. */
export function report(value) {
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(value)}\n`);
}

/**
 * Spawns `node [execArgv] script ...args`, bounded by timeoutMs (the process is killed after
 * it), and resolves with the value the worker passed to report(), or { error } when none came.
 */
export function runNode(script, args = [], { timeoutMs = 60_000, execArgv = [], env = {} } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...execArgv, script, ...args], {
      env: cleanEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX));
      if (line) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
      } else {
        const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${code}`;
        resolve({ error: `${why}: ${(err || out).trim().split("\n").slice(-5).join(" | ")}` });
      }
    });
  });
}

/** Parses `--name value` and `--flag` arguments into an object. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[key] = true;
    else {
      out[key] = next;
      i++;
    }
  }
  return out;
}
