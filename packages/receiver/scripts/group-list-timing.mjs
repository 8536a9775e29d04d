// Times the group list with 100,000 stored reports, and a rough keep-alive ingest rate. Run after the build:
//   node scripts/group-list-timing.mjs [reports] [groups]
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startReceiver } from "../dist/index.js";
import { openStore } from "../dist/store.js";
import { summarize } from "../dist/summary.js";

const reportCount = Number(process.argv[2] ?? 100_000);
const groupCount = Number(process.argv[3] ?? 500);
const dir = mkdtempSync(join(tmpdir(), "bt-receiver-timing-"));
const db = join(dir, "timing.sqlite");

function body(i) {
  const g = i % groupCount;
  return {
    uuid: randomUUID(),
    timestamp: 1700000000 + i,
    lang: "nodejs",
    langVersion: "v20.20.2",
    agent: "timing",
    agentVersion: "1",
    mainThread: "main",
    classifiers: [`Error${g % 7}`],
    threads: { main: { name: "main", fault: true, stack: [0, 1, 2, 3].map((f) => ({ funcName: `fn${g}_${f}`, library: `/app/m${g}.js`, line: f + 1, column: 1 })) } },
    attributes: { "error.type": "Exception", "error.message": `failure ${i}`, application: "timing", hostname: `host-${i % 10}` },
    annotations: { padding: "x".repeat(9000) },
  };
}

const store = openStore(db);
const started = performance.now();
for (let i = 0; i < reportCount; i++) {
  const b = body(i);
  const text = JSON.stringify(b);
  store.insertReport({ summary: summarize(b), body: text, flags: [], attachments: [], receivedAt: Date.now() });
}
store.close();
console.log(`stored ${reportCount} reports (~10 KB each) in ${groupCount} groups directly in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const agent = new Agent({ keepAlive: true, maxSockets: 8 });
function call(url, method = "GET", payload) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {} }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

const receiver = await startReceiver({ port: 0, db });
for (const path of ["/api/groups", "/", "/api/groups?limit=500"]) {
  await call(`${receiver.url}${path}`);
  const times = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const status = await call(`${receiver.url}${path}`);
    times.push(performance.now() - t0);
    if (status !== 200) throw new Error(`${path} answered ${status}`);
  }
  times.sort((a, b) => a - b);
  console.log(`GET ${path}: median ${times[10].toFixed(1)} ms, max ${times[19].toFixed(1)} ms`);
}

const ingest = 5000;
const payloads = Array.from({ length: ingest }, (_, i) => JSON.stringify(body(reportCount + i)));
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < ingest) {
      const status = await call(`${receiver.url}/post?format=json&token=t`, "POST", payloads[next++]);
      if (status !== 200) throw new Error(`post answered ${status}`);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
console.log(`ingested ${ingest} reports of ~10 KB over 8 keep-alive connections: ${(ingest / seconds).toFixed(0)} reports/s`);
agent.destroy();
await receiver.close();
rmSync(dir, { recursive: true, force: true });
