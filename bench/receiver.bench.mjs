// (f) backtrace-ts-receiver: ingest rate and group-list latency.
// Ingest: a fresh database per run; the receiver in its own process; this process posts ~10 KB
// report bodies (lib/report-body.mjs, valid against the schema, each with its own uuid) over an
// http.Agent with keepAlive and 4 sockets, 8 requests in flight; reports/s = accepted / elapsed.
// Group list: a database seeded with 100,000 reports in 1,000 groups (8 hostnames, 5 versions),
// then GET / (the HTML group list), the list with a search and a filter, a group page with its
// chart and facets, and the JSON API, one request at a time, timed at the client.
// Seeding goes through the receiver's own store (dist/store.js openStore().insertReport with
// dist/summary.js summarize, the calls its submit path makes after validation), in a child
// process; when those internal files are missing it falls back to posting over HTTP.
// Run alone: node bench/receiver.bench.mjs [--runs 3] [--reports 4000] [--stored 100000]
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageUrl, importPackage } from "./lib/builds.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { emit, mmm, printTable } from "./lib/output.mjs";
import { makeBody } from "./lib/report-body.mjs";
import { median, percentile, summarizeRuns } from "./lib/stats.mjs";

const args = parseArgs();
const self = fileURLToPath(import.meta.url);
const distFile = (name) => new URL(packageUrl("backtrace-ts-receiver", `dist/${name}`));
const SOCKETS = 4;
const IN_FLIGHT = 8;
const INGEST_LIMIT_MS = 60_000;
const SEED_LIMIT_MS = 240_000;
const GROUPS = 1000;
/** The search and filter timed on the group list: a word of some messages, and one hostname of 8. */
const SEARCH = "refused";
const FILTER = "hostname:web-3";

/** In a child: start the receiver on the given database and tell the parent its port. */
async function serve() {
  const { startReceiver } = await importPackage("backtrace-ts-receiver");
  const receiver = await startReceiver({ port: 0, host: "127.0.0.1", db: args.db });
  process.send({ port: receiver.port, url: receiver.url });
  process.on("disconnect", () => receiver.close().finally(() => process.exit(0)));
}

/** In a child: insert `count` reports straight into the store, in GROUPS groups. */
async function seedStore() {
  const { openStore } = await import(distFile("store.js").href);
  const { summarize } = await import(distFile("summary.js").href);
  const store = openStore(args.db);
  const count = Number(args.count);
  const start = Date.now() - count * 10;
  for (let i = 0; i < count; i++) {
    const body = seedBody(i, Number(args.bytes), start + i * 10);
    store.insertReport({ summary: summarize(body), body: JSON.stringify(body), flags: [], attachments: [], receivedAt: start + i * 10 });
  }
  store.close();
  process.send({ inserted: count });
  process.exit(0);
}

/** A seeded report: its group's body, with hostname and version spread so filters and facets have work to do. */
function seedBody(i, bytes, now) {
  const body = makeBody({ group: i % GROUPS, bytes, now });
  body.attributes.hostname = `web-${i % 8}`;
  body.attributes["application.version"] = `1.${i % 5}.0`;
  body.attributes.environment = i % 3 === 0 ? "staging" : "production";
  return body;
}

function startServer(db) {
  const child = fork(self, ["--serve", "--db", db], { env: cleanEnv(), stdio: ["ignore", "ignore", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("receiver did not start")), 20_000);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve({
        ...m,
        close: () =>
          new Promise((r) => {
            child.once("exit", r);
            child.disconnect();
            setTimeout(() => (child.kill("SIGKILL"), r()), 10_000).unref();
          }),
      });
    });
    child.once("exit", (code) => reject(new Error(`receiver exited with ${code}`)));
  });
}

function post(agent, port, body) {
  return new Promise((resolve) => {
    const req = http.request(
      { agent, host: "127.0.0.1", port, method: "POST", path: "/post?format=json&token=bench", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

/** Posts every body with IN_FLIGHT requests at a time; bounded by limitMs. */
async function postAll(port, bodies, limitMs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS });
  const status = {};
  let next = 0;
  const deadline = performance.now() + limitMs;
  const t0 = performance.now();
  const lane = async () => {
    while (next < bodies.length && performance.now() < deadline) {
      const code = await post(agent, port, bodies[next++]);
      status[code] = (status[code] ?? 0) + 1;
    }
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  // The sender's own CPU share, to tell a slow receiver from a busy sender on a 2-core machine.
  return { status, elapsedMs, accepted: status[200] ?? 0, senderCpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100 };
}

function get(port, path) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    http
      .get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (d) => (bytes += d.length));
        res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, bytes }));
      })
      .on("error", () => resolve({ ms: NaN, status: 0, bytes: 0 }));
  });
}

async function timeGets(port, path, n = 20) {
  for (let i = 0; i < 2; i++) await get(port, path); // warm-up
  const times = [];
  let last;
  for (let i = 0; i < n; i++) {
    last = await get(port, path);
    times.push(last.ms);
  }
  return { medianMs: median(times), p99Ms: percentile(times, 99), maxMs: Math.max(...times), status: last.status, bytes: last.bytes };
}

async function ingestRun(count) {
  const dir = mkdtempSync(join(tmpdir(), "backtrace-ts-bench-receiver-"));
  try {
    const bodies = Array.from({ length: count }, (_, i) => JSON.stringify(makeBody({ group: i % 50, uuid: randomUUID() })));
    const server = await startServer(join(dir, "ingest.sqlite"));
    try {
      const res = await postAll(server.port, bodies, INGEST_LIMIT_MS);
      return {
        reportsPerSecond: res.accepted / (res.elapsedMs / 1000),
        accepted: res.accepted,
        rejected: count - res.accepted,
        elapsedMs: res.elapsedMs,
        senderCpuPercent: res.senderCpuPercent,
        bodyBytes: median(bodies.slice(0, 100).map((b) => b.length)),
      };
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function seed(db, count, bytes) {
  const t0 = performance.now();
  if (existsSync(distFile("store.js")) && existsSync(distFile("summary.js"))) {
    const child = fork(self, ["--seed", "--db", db, "--count", String(count), "--bytes", String(bytes)], { env: cleanEnv(), stdio: ["ignore", "ignore", "inherit", "ipc"] });
    const done = await new Promise((resolve) => {
      const timer = setTimeout(() => (child.kill("SIGKILL"), resolve(undefined)), SEED_LIMIT_MS);
      child.once("message", (m) => (clearTimeout(timer), resolve(m)));
      child.once("exit", () => (clearTimeout(timer), resolve(undefined)));
    });
    if (done) return { method: "store.insertReport in a child process", stored: done.inserted, seedMs: performance.now() - t0 };
  }
  const server = await startServer(db);
  try {
    const bodies = Array.from({ length: count }, (_, i) => JSON.stringify(seedBody(i, bytes, Date.now())));
    const res = await postAll(server.port, bodies, SEED_LIMIT_MS);
    return { method: "HTTP POST, keep-alive", stored: res.accepted, seedMs: performance.now() - t0 };
  } finally {
    await server.close();
  }
}

export async function main() {
  const runs = Number(args.runs ?? 3);
  const count = Number(args.reports ?? 4000);
  const stored = Number(args.stored ?? 100_000);
  const seedBytes = Number(args["seed-bytes"] ?? 10_000);
  if (!existsSync(distFile("index.js"))) {
    console.log("backtrace-ts-receiver is not built (npm run build at the root): skipped");
    return emit(args, { benchmark: "receiver", skipped: "receiver not built" });
  }
  const ingest = [];
  for (let r = 0; r < runs; r++) ingest.push(await ingestRun(count));

  const dir = mkdtempSync(join(tmpdir(), "backtrace-ts-bench-receiver-"));
  let groupList;
  try {
    const db = join(dir, "seeded.sqlite");
    const seeded = await seed(db, stored, seedBytes);
    const server = await startServer(db);
    try {
      const groupsJson = await new Promise((resolve) => {
        http.get({ host: "127.0.0.1", port: server.port, path: "/api/groups?limit=1", agent: false }, (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve(JSON.parse(text)));
        });
      });
      const groupId = groupsJson.groups[0]?.id ?? "none";
      groupList = {
        ...seeded,
        groups: GROUPS,
        dbMB: statSync(db).size / 1e6,
        page: await timeGets(server.port, "/"),
        searchPage: await timeGets(server.port, `/?q=${SEARCH}&attr=${encodeURIComponent(FILTER)}`),
        groupPage: await timeGets(server.port, `/groups/${groupId}`),
        apiGroups: await timeGets(server.port, "/api/groups"),
        apiReports: await timeGets(server.port, "/api/reports"),
      };
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ingestSummary = summarizeRuns(ingest);
  printTable(
    `receiver ingest, ${runs} runs × ${count} reports of ~10 KB, keep-alive, ${SOCKETS} sockets (median (min–max))`,
    ["reports/s", "accepted", "rejected", "sender CPU %"],
    [[mmm(ingestSummary.reportsPerSecond, 0), mmm(ingestSummary.accepted, 0), mmm(ingestSummary.rejected, 0), mmm(ingestSummary.senderCpuPercent, 0)]],
  );
  printTable(
    `receiver lists with ${groupList.stored} stored reports in ${GROUPS} groups (seeded by ${groupList.method}), 20 requests each`,
    ["request", "median ms", "p99 ms", "status", "bytes"],
    [
      ["GET /", groupList.page.medianMs.toFixed(1), groupList.page.p99Ms.toFixed(1), groupList.page.status, groupList.page.bytes],
      [`GET /?q=${SEARCH}&attr=${FILTER}`, groupList.searchPage.medianMs.toFixed(1), groupList.searchPage.p99Ms.toFixed(1), groupList.searchPage.status, groupList.searchPage.bytes],
      ["GET /groups/<id>", groupList.groupPage.medianMs.toFixed(1), groupList.groupPage.p99Ms.toFixed(1), groupList.groupPage.status, groupList.groupPage.bytes],
      ["GET /api/groups", groupList.apiGroups.medianMs.toFixed(1), groupList.apiGroups.p99Ms.toFixed(1), groupList.apiGroups.status, groupList.apiGroups.bytes],
      ["GET /api/reports", groupList.apiReports.medianMs.toFixed(1), groupList.apiReports.p99Ms.toFixed(1), groupList.apiReports.status, groupList.apiReports.bytes],
    ],
  );
  return emit(args, { benchmark: "receiver", runs, reports: count, ingest: ingestSummary, ingestSamples: ingest, groupList });
}

if (args.serve) await serve();
else if (args.seed) await seedStore();
else if (process.argv[1] === self) await main();
