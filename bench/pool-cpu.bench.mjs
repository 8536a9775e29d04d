// (g) backtrace-ts's HTTP/1.1 pool against node:http with a keep-alive agent: CPU time per report request.
// The client does not expose its pool, so its own transport (packages/client/src/transport/post.ts) is bundled
// with esbuild into bench/results/tmp at the start. A loopback server in its own process (node:http, keep-alive)
// answers each POST with {"response":"ok","_rxid":...}; its CPU is not counted. In a fresh process per sample,
// each way sends the same ~4 KB JSON body, 4 sockets, 4 requests in flight: 500 warm-up requests, then 5,000
// timed by process.cpuUsage() (user + system). The two ways alternate, fresh process each, in the same run.
// Run alone: node bench/pool-cpu.bench.mjs [--runs 3] [--requests 5000]
import { fork } from "node:child_process";
import http from "node:http";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cleanEnv, parseArgs, report, runNode } from "./lib/child.mjs";
import { bundleClientSource } from "./lib/builds.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { summarizeRuns } from "./lib/stats.mjs";

const args = parseArgs();
const self = fileURLToPath(import.meta.url);
const IN_FLIGHT = 4;
const WARMUP = 500;
const DEADLINE_MS = 60_000;
const WAYS = ["backtrace-ts pool", "node:http + keep-alive agent"];

function bundleTransport() {
  return bundleClientSource({ "transport/post.ts": ["createPool", "postReport"], "payload.ts": ["jsonBody"] }, "pool-transport.mjs");
}

/** In a child: the loopback server. */
function serve() {
  let n = 0;
  const server = http.createServer({ keepAlive: true, keepAliveTimeout: 30_000 }, (req, res) => {
    req.resume();
    req.on("end", () => {
      const body = `{"response":"ok","_rxid":"rx-${n++}"}`;
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
  process.on("disconnect", () => process.exit(0));
}

function body() {
  const frames = Array.from({ length: 40 }, (_, i) => ({ funcName: `fn${i}`, library: "/srv/app/dist/index.js", line: 100 + i, column: 7 }));
  return JSON.stringify({ uuid: "00000000-0000-4000-8000-000000000000", lang: "nodejs", agent: "bench", threads: { main: { name: "main", stack: frames } }, attributes: { "error.message": "x".repeat(200) } });
}

/** Sends `count` requests with `send`, IN_FLIGHT at a time; resolves with the failures. */
async function drive(count, send) {
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      next += 1;
      if (!(await send())) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return failed;
}

async function worker() {
  // The pool's sockets are unref'd (they never hold an application open): this keeps the worker alive.
  setInterval(() => undefined, 1000);
  const way = args.way;
  const requests = Number(args.requests ?? 5000);
  const url = `http://127.0.0.1:${args.port}/post?format=json&token=t0k3n`;
  const text = body();
  let send;
  if (way === WAYS[0]) {
    const { createPool, postReport, jsonBody } = await import(pathToFileURL(args.transport).href);
    const pool = createPool(url, { maxSockets: IN_FLIGHT, ignoreSslCertificate: false, proxy: false });
    const json = jsonBody(text);
    send = async () => {
      const result = await postReport(url, { uuid: "u", json, attachments: [] }, { timeoutMs: 10_000, ignoreSslCertificate: false, pool });
      return result.kind === "response" && result.status === 200 && result.rxid !== undefined;
    };
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const target = new URL(url);
    const length = Buffer.byteLength(text);
    send = () =>
      new Promise((resolve) => {
        const req = http.request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: target.pathname + target.search,
            method: "POST",
            headers: { "Content-Type": "application/json", "Content-Length": length, Accept: "application/json", "User-Agent": "bench" },
            timeout: 10_000,
          },
          (res) => {
            const chunks = [];
            res.on("data", (c) => chunks.push(c));
            res.on("end", () => {
              const rxid = /"_rxid":"([^"]*)"/.exec(Buffer.concat(chunks).toString("utf8"))?.[1];
              resolve(res.statusCode === 200 && rxid !== undefined);
            });
          },
        );
        req.on("error", () => resolve(false));
        req.end(text);
      });
  }
  await drive(WARMUP, send);
  const deadline = setTimeout(() => {
    report({ error: `over ${DEADLINE_MS} ms` });
    process.exit(1);
  }, DEADLINE_MS);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const failed = await drive(requests, send);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  clearTimeout(deadline);
  report({ way, requests, failed, cpuUsPerRequest: (cpu.user + cpu.system) / requests, userUsPerRequest: cpu.user / requests, wallMs });
  process.exit(0);
}

export async function main() {
  const runs = Number(args.runs ?? 3);
  const transport = await bundleTransport();
  if (!transport) return emit(args, { benchmark: "pool-cpu", skipped: "the client's transport did not bundle" });
  const server = fork(self, ["--serve"], { env: cleanEnv(), stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const { port } = await new Promise((resolve) => server.once("message", resolve));
  const samples = Object.fromEntries(WAYS.map((w) => [w, []]));
  const errors = [];
  try {
    for (let r = 0; r < runs; r++) {
      for (const way of r % 2 === 0 ? WAYS : [...WAYS].reverse()) {
        const res = await runNode(self, ["--worker", "--way", way, "--port", String(port), "--transport", transport, "--requests", String(args.requests ?? 5000)], {
          timeoutMs: DEADLINE_MS + 20_000,
        });
        if (res.error) errors.push(`${way}: ${res.error}`);
        else samples[way].push(res);
      }
    }
  } finally {
    server.disconnect();
  }
  const results = Object.fromEntries(WAYS.map((w) => [w, summarizeRuns(samples[w])]));
  const ratios = samples[WAYS[0]].map((s, i) => (samples[WAYS[1]][i] ? samples[WAYS[1]][i].cpuUsPerRequest / s.cpuUsPerRequest : undefined)).filter((x) => x !== undefined);
  printTable(
    `CPU per report request, µs (user + system), ${args.requests ?? 5000} requests, ${IN_FLIGHT} in flight, ${runs} processes each (median (min–max))`,
    ["way", "CPU µs/request", "user µs/request", "wall ms", "failed"],
    WAYS.map((w) => [w, mmm(results[w].cpuUsPerRequest), mmm(results[w].userUsPerRequest), mmm(results[w].wallMs, 0), mmm(results[w].failed, 0)]),
  );
  console.log(`node:http+agent / pool, per run: ${ratios.map((x) => x.toFixed(2)).join(", ")}`);
  if (errors.length) console.log("errors:", errors);
  return emit(args, { benchmark: "pool-cpu", runs, results, ratios, samples, errors });
}

if (args.serve) serve();
else if (args.worker) await worker();
else if (process.argv[1] === self) await main();
