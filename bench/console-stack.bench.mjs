// Two costs the context of a report adds to the application: a console.log with breadcrumbs on (against
// no library and against the library with breadcrumbs off), and `new Error()` at each Error.stackTraceLimit.
// Each case runs in fresh processes; stdout goes to /dev/null so the write itself is as cheap as it gets.
// Usage: node bench/console-stack.bench.mjs [--runs N] [--json FILE]
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { packageUrl } from "./lib/builds.mjs";

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] || 5);
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined;
const self = fileURLToPath(import.meta.url);

if (process.env.BENCH_CHILD) {
  const mode = process.env.BENCH_CHILD;
  const bt = mode.startsWith("console-lib") || mode.startsWith("error") ? await import(packageUrl("backtrace-ts")) : undefined;
  if (bt && mode !== "error") {
    bt.initialize({ endpoint: "http://127.0.0.1:9/", token: "t", spool: false, disableGlobalHandler: true, breadcrumbs: mode === "console-lib-off" ? false : undefined });
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const batches = [];
  if (mode.startsWith("console")) {
    const n = 2000;
    for (let batch = 0; batch < 60; batch++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) console.log("request %d handled in %s ms", i, "12.5");
      batches.push(Number(process.hrtime.bigint() - start) / n);
    }
  } else {
    Error.stackTraceLimit = Number(process.env.LIMIT);
    const read = process.env.READ === "1";
    const deep = (depth) => (depth === 0 ? (read ? new Error("deep").stack : new Error("deep")) : deep(depth - 1));
    const n = 2000;
    for (let batch = 0; batch < 40; batch++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) deep(60);
      batches.push(Number(process.hrtime.bigint() - start) / n);
    }
  }
  // The first batches warm up the JIT.
  process.stderr.write(JSON.stringify({ ns: median(batches.slice(10)) }) + "\n");
  process.exit(0);
}

function measure(mode, env = {}) {
  const values = [];
  for (let run = 0; run < runs; run++) {
    const child = spawnSync(process.execPath, [self], { env: { ...process.env, ...env, BENCH_CHILD: mode }, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
    const line = child.stderr.toString().trim().split("\n").pop();
    values.push(JSON.parse(line).ns);
  }
  values.sort((a, b) => a - b);
  return { medianNs: values[Math.floor(values.length / 2)], minNs: values[0], maxNs: values[values.length - 1] };
}

const consoleResults = {
  withoutLibrary: measure("console-none"),
  breadcrumbsOff: measure("console-lib-off"),
  breadcrumbsOn: measure("console-lib"),
};
const addedNs = consoleResults.breadcrumbsOn.medianNs - consoleResults.withoutLibrary.medianNs;
const errors = {};
const withStack = {};
for (const limit of [10, 25, 50, 100]) {
  errors[limit] = measure("error", { LIMIT: String(limit) });
  withStack[limit] = measure("error", { LIMIT: String(limit), READ: "1" });
}
const result = { console: { ...consoleResults, addedNs, targetNs: 1000, met: addedNs <= 1000 }, newError60Deep: errors, newErrorAndStack60Deep: withStack };
console.log(JSON.stringify(result, null, 2));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2));
