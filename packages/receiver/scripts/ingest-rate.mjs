// Measures keep-alive ingest: the built receiver in its own process, this one posting ~10 KB reports. Run after the build:
//   node scripts/ingest-rate.mjs [--runs 5] [--reports 4000] [--sockets 4] [--in-flight 8] [--profile dir] [--dist dir]
// Each run uses a fresh database; prints reports/s per run and the median. --profile passes --cpu-prof to the receiver.
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    reports: { type: "string", default: "4000" },
    sockets: { type: "string", default: "4" },
    "in-flight": { type: "string", default: "8" },
    profile: { type: "string" },
    serve: { type: "string" },
    dist: { type: "string", default: new URL("../dist/", import.meta.url).pathname },
  },
});

if (args.serve) {
  const { startReceiver } = await import(pathToFileURL(join(args.dist, "index.js")).href);
  const receiver = await startReceiver({ port: 0, db: args.serve });
  process.send?.({ port: receiver.port });
  // CPU time used by the receiver so far, so runs can be compared per report even on a busy machine.
  process.on("message", () => process.send?.({ cpu: process.cpuUsage() }));
  process.on("disconnect", () => void receiver.close().then(() => process.exit(0)));
} else {
  await main();
}

/** A report shaped like a Node client's: 10 frames, attributes, annotations, source text padding it to ~10 KB. */
function reportBody(i) {
  const file = "/srv/app/dist/orders/pipeline.js";
  const names = ["commitOrder", "writeLedger", "chargePayment", "reserveStock", "computeTax", "applyDiscounts", "priceItems", "normalizeItems", "validateOrder", "parseRequest"];
  const group = i % 50;
  const lines = Array.from({ length: 120 }, (_, n) => `  const value${group}_${n} = compute(${n}, "${"x".repeat(20 + ((n * 7) % 30))}");`);
  return JSON.stringify({
    uuid: randomUUID(),
    timestamp: Math.floor(Date.now() / 1000),
    lang: "nodejs",
    langVersion: "v20.20.2",
    agent: "ingest-rate",
    agentVersion: "1.0.0",
    mainThread: "main",
    threads: { main: { name: "main", fault: true, stack: names.map((name, f) => ({ funcName: f < 3 ? `${name}_${group}` : name, library: file, line: 40 + f * 23, column: 11, sourceCode: "1" })) } },
    classifiers: [["StorageError", "TypeError", "RangeError"][group % 3]],
    attributes: { application: "bench-app", hostname: "bench-host", "error.type": "Exception", "error.message": `write refused for orders/${group}`, "process.id": 4242, "cpu.count": 2 },
    annotations: { Environment: { NODE_ENV: "production" }, Exception: { name: "StorageError", message: `write refused for orders/${group}` } },
    sourceCode: { 1: { path: file, text: lines.join("\n"), startLine: 1 } },
  });
}

function post(agent, port, body) {
  return new Promise((resolve) => {
    const req = request(
      { agent, host: "127.0.0.1", port, method: "POST", path: "/post?format=json&token=t", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

async function run(count, sockets, inFlight, profileDir) {
  const dir = mkdtempSync(join(tmpdir(), "bt-receiver-ingest-"));
  const execArgv = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child = fork(fileURLToPath(import.meta.url), ["--serve", join(dir, "ingest.sqlite"), "--dist", args.dist], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const { port } = await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`receiver exited with ${code}`)));
    });
    const bodies = Array.from({ length: count }, (_, i) => reportBody(i));
    const cpuAt = () => new Promise((resolve) => {
      child.once("message", (m) => resolve(m.cpu.user + m.cpu.system));
      child.send("cpu");
    });
    const cpu0 = await cpuAt();
    const agent = new Agent({ keepAlive: true, maxSockets: sockets });
    let next = 0;
    let accepted = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) if ((await post(agent, port, bodies[next++])) === 200) accepted++;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpuMicros = (await cpuAt()) - cpu0;
    agent.destroy();
    return { perSecond: accepted / seconds, accepted, bytes: bodies[0].length, cpuPerReport: cpuMicros / accepted, cpuPercent: cpuMicros / 1e4 / seconds };
  } finally {
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.disconnect();
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const runs = Number(args.runs);
  const rates = [];
  const cpus = [];
  for (let r = 0; r < runs; r++) {
    const result = await run(Number(args.reports), Number(args.sockets), Number(args["in-flight"]), args.profile);
    rates.push(result.perSecond);
    cpus.push(result.cpuPerReport);
    console.log(
      `run ${r + 1}: ${result.perSecond.toFixed(0)} reports/s, receiver CPU ${result.cpuPerReport.toFixed(0)} µs/report (${result.cpuPercent.toFixed(0)}% of a core); ${result.accepted} accepted, ${result.bytes} bytes each`,
    );
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`median of ${runs} runs: ${median(rates).toFixed(0)} reports/s, receiver CPU ${median(cpus).toFixed(0)} µs/report`);
}
