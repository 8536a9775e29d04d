// (k) A live service: a node:http service in a child process, loaded by a closed-loop loopback load generator
// (raw keep-alive sockets, this process), every Nth request throwing and reported by the client under test to the
// sink (its own process). Per client (none, backtrace-ts, @backtrace/node, @sentry/node) and error share (0, 1, 10,
// 50 %): requests/s, p99 latency, the service's CPU per request, occurrences thrown against occurrences accounted
// for (at the sink: the sum of `_mod_duplicate` counts, 1 for a plain report; plus what the client counted as
// dropped). Then the same service at a fixed offered rate (CPU per request), the floors of a 5,000 burst (one bare
// keep-alive socket; node:http with a keep-alive agent) next to backtrace-ts's CPU per report in the same burst, and
// crash-to-exit time with the receiver up, down and never answering. Each cell's service is warmed up with load
// for a second first (its reports delivered before the window). Bounded: about 3 minutes with the defaults.
// Run alone: node bench/service.bench.mjs [--quick] [--seconds 4] [--storm-seconds 15] [--clients a,b]
import { fork } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { availableClients, loadAdapter } from "./clients/index.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { emit, printTable } from "./lib/output.mjs";
import { makeBody } from "./lib/report-body.mjs";
import { nowMs, startSinkProcess } from "./lib/sink.mjs";
import { percentile } from "./lib/stats.mjs";

const args = parseArgs();
const self = fileURLToPath(import.meta.url);
const quick = args.quick === true;
const SECONDS = Number(args.seconds ?? (quick ? 2 : 4));
const STORM_SECONDS = Number(args["storm-seconds"] ?? (quick ? 5 : 15));
const RATES = [0, 0.01, 0.1, 0.5];
const CONNECTIONS = 32;
const FIXED_RATE = Number(args["fixed-rate"] ?? 2000); // requests/s offered in the fixed-rate cells (10 % errors)
const BURST = 5000;
const FLUSH_MS = 30_000;
const WARMUP_SECONDS = quick ? 0.5 : 1; // load before the measured window: JIT, the client's caches, connections

/** A child process of this script in `mode`, talking over IPC. */
function child(mode, extra = {}) {
  const proc = fork(self, [], { env: cleanEnv({ SERVICE_MODE: mode, ...extra }), stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const waiting = [];
  proc.on("message", (msg) => waiting.shift()?.(msg));
  proc.on("exit", () => {
    for (const resolve of waiting.splice(0)) resolve({ error: "child exited" });
  });
  const next = () => new Promise((resolve) => waiting.push(resolve));
  return { proc, next, call: (msg) => (proc.send(msg), next()) };
}

// ---- the service (child) -------------------------------------------------------------------------------------

async function serve() {
  const { SERVICE_CLIENT: client, SERVICE_URL: url, SERVICE_EVERY: everyText } = process.env;
  const every = Number(everyText);
  const adapter = client === "none" ? undefined : await loadAdapter(client);
  await adapter?.load();
  adapter?.init({ url });
  let served = 0;
  let thrown = 0;
  // The same place throws each time, with the request number in the message: the storm of a real failure.
  const handle = (n) => {
    if (every > 0 && n % every === 0) throw new Error(`order ${n} failed: stock reservation timed out`);
    return JSON.stringify({ order: n, items: [{ sku: "a-1", qty: 2 }], total: 31.5 });
  };
  const server = http.createServer((req, res) => {
    const n = ++served;
    try {
      const body = handle(n);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    } catch (error) {
      thrown++;
      adapter?.capture(error);
      res.writeHead(500, { "content-length": 2 });
      res.end("er");
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  let cpu;
  process.on("message", async (msg) => {
    if (msg.op === "start") {
      served = 0;
      thrown = 0;
      cpu = process.cpuUsage();
      process.send({ ok: true });
    } else if (msg.op === "stop") {
      const used = process.cpuUsage(cpu);
      process.send({ served, thrown, cpuMs: (used.user + used.system) / 1000 });
    } else if (msg.op === "flush-wait") {
      // The warm-up's reports are delivered before the window: they are not this window's occurrences.
      await adapter?.flush(FLUSH_MS);
      process.send({ ok: true });
    } else if (msg.op === "flush") {
      const started = nowMs();
      await adapter?.close(FLUSH_MS);
      process.send({ flushMs: nowMs() - started, counters: adapter?.counters?.() ?? null });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ port: server.address().port });
}

// ---- the load generator (this process) ----------------------------------------------------------------------

const REQUEST = "GET /orders HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/** Closed loop over `CONNECTIONS` keep-alive sockets for `seconds`, or paced at `rate` requests/s when given. */
function load(port, seconds, rate) {
  return new Promise((resolve) => {
    const latencies = [];
    let done = 0;
    let issued = 0;
    let stopped = false;
    const sockets = [];
    const started = performance.now();
    const idle = [];
    const send = (s) => {
      issued++;
      s.sentAt = performance.now();
      s.busy = true;
      s.write(REQUEST);
    };
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = net.connect(port, "127.0.0.1");
      s.setNoDelay(true);
      s.buf = "";
      s.on("data", (chunk) => {
        s.buf += chunk.toString("latin1");
        for (;;) {
          const end = s.buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: *(\d+)/i.exec(s.buf.slice(0, end))?.[1] ?? 0);
          if (s.buf.length < end + 4 + length) return;
          s.buf = s.buf.slice(end + 4 + length);
          done++;
          latencies.push(performance.now() - s.sentAt);
          s.busy = false;
          if (stopped) continue;
          if (rate === undefined) send(s);
          else idle.push(s);
        }
      });
      s.on("error", () => undefined);
      s.once("connect", () => (rate === undefined ? send(s) : idle.push(s)));
      sockets.push(s);
    }
    const pacer =
      rate === undefined
        ? undefined
        : setInterval(() => {
            const due = Math.floor(((performance.now() - started) / 1000) * rate) - issued;
            for (let i = 0; i < due && idle.length > 0; i++) send(idle.pop());
          }, 2);
    setTimeout(() => {
      stopped = true;
      clearInterval(pacer);
      const elapsed = (performance.now() - started) / 1000;
      // Answers still on their way are waited for a moment, so the service's counts and ours agree.
      setTimeout(() => {
        for (const s of sockets) s.destroy();
        resolve({ requests: done, rps: done / elapsed, p99Ms: percentile(latencies, 99), p50Ms: percentile(latencies, 50) });
      }, 300);
    }, seconds * 1000);
  });
}

/** Occurrences the client itself counted as lost (dropped before or in delivery, merged ones lost with theirs). */
function countedLost(counters) {
  if (!counters) return 0;
  const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
  return sum(counters.discarded) + sum(counters.dropped) + (counters.mergedLost ?? 0);
}

async function serviceCell(sink, client, share, seconds, rate) {
  const every = share > 0 ? Math.round(1 / share) : 0;
  const service = child("serve", { SERVICE_CLIENT: client, SERVICE_URL: sink.url, SERVICE_EVERY: String(every) });
  try {
    const { port, error } = await service.next();
    if (error) return { error };
    await load(port, WARMUP_SECONDS, rate);
    await service.call({ op: "flush-wait" });
    await sink.reset();
    await service.call({ op: "start" });
    const loadResult = await load(port, seconds, rate);
    const served = await service.call({ op: "stop" });
    const flushed = await service.call({ op: "flush" });
    const stats = await sink.stats();
    const lost = countedLost(flushed.counters);
    return {
      ...loadResult,
      cpuUsPerRequest: (served.cpuMs * 1000) / Math.max(1, served.served),
      thrown: served.thrown,
      reports: stats.reports,
      occurrencesAtSink: stats.occurrences,
      countedLost: lost,
      accounted: stats.occurrences + lost,
      flushMs: flushed.flushMs,
      counters: flushed.counters,
    };
  } finally {
    service.proc.kill("SIGKILL");
  }
}

// ---- floors and the burst (children) ------------------------------------------------------------------------

async function floor() {
  const { FLOOR_WAY: way, SERVICE_URL: url } = process.env;
  const { port } = new URL(url);
  const body = JSON.stringify(makeBody({ bytes: Number(process.env.FLOOR_BYTES) }));
  const head = `POST /post?format=json&token=bench HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const cpu = process.cpuUsage();
  if (way === "bare socket") {
    const s = net.connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => s.once("connect", resolve));
    let answered = 0;
    let buf = "";
    await new Promise((resolve) => {
      s.on("data", (chunk) => {
        buf += chunk.toString("latin1");
        for (;;) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
          if (buf.length < end + 4 + length) return;
          buf = buf.slice(end + 4 + length);
          if (++answered === BURST) return resolve();
          s.write(head + body);
        }
      });
      s.write(head + body);
    });
    s.destroy();
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    let next = 0;
    const one = () =>
      new Promise((resolve) => {
        const req = http.request(url + "/post?format=json&token=bench", { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", resolve);
        req.end(body);
      });
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next++ < BURST) await one();
    }));
    agent.destroy();
  }
  const used = process.cpuUsage(cpu);
  process.send({ cpuUsPerReport: (used.user + used.system) / BURST });
}

async function burst() {
  const adapter = await loadAdapter("backtrace-ts");
  await adapter.load();
  // Aggregation off: the CPU per report here is that of building and sending whole reports (the service cells
  // measure aggregation).
  adapter.init({ url: process.env.SERVICE_URL, options: { aggregateDuplicates: false } });
  const place = (i) => new Error(`order ${i} failed`);
  adapter.capture(place(-1));
  await adapter.flush(5000);
  const cpu = process.cpuUsage();
  for (let i = 0; i < BURST; i++) adapter.capture(place(i));
  await adapter.flush(FLUSH_MS);
  const used = process.cpuUsage(cpu);
  process.send({ cpuMs: (used.user + used.system) / 1000, counters: adapter.counters() });
}

// ---- crash to exit (child) ----------------------------------------------------------------------------------

async function crash() {
  const adapter = await loadAdapter(process.env.SERVICE_CLIENT);
  await adapter.load();
  adapter.init({ url: process.env.SERVICE_URL });
  setTimeout(() => {
    process.send({ at: nowMs() }, () => {
      throw new Error("crash to exit");
    });
  }, 200);
}

async function crashCell(client, url) {
  const c = child("crash", { SERVICE_CLIENT: client, SERVICE_URL: url });
  const exited = new Promise((resolve) => c.proc.once("exit", () => resolve(nowMs())));
  const timer = setTimeout(() => c.proc.kill("SIGKILL"), 30_000);
  const { at } = await c.next();
  const end = await exited;
  clearTimeout(timer);
  return at === undefined ? null : end - at;
}

// ---- the run ------------------------------------------------------------------------------------------------

async function main() {
  const wanted = typeof args.clients === "string" ? args.clients.split(",") : undefined;
  const clients = ["none", ...(await availableClients(wanted))];
  const sink = await startSinkProcess();
  const result = { seconds: SECONDS, stormSeconds: STORM_SECONDS, connections: CONNECTIONS, fixedRate: FIXED_RATE, clients, throughput: {}, fixedRate10: {}, floors: {}, burst: null, crash: {} };
  try {
    for (const share of RATES) {
      const key = `${share * 100}%`;
      result.throughput[key] = {};
      for (const client of clients) {
        if (share === 0 && client !== "none" && args.skipZero) continue;
        result.throughput[key][client] = await serviceCell(sink, client, share, share === 0.5 ? STORM_SECONDS : SECONDS);
      }
    }
    for (const client of clients) result.fixedRate10[client] = await serviceCell(sink, client, 0.1, SECONDS, FIXED_RATE);
    const bytes = 30_000;
    for (const way of ["bare socket", "node:http agent"]) {
      const f = child("floor", { FLOOR_WAY: way, SERVICE_URL: sink.url, FLOOR_BYTES: String(bytes) });
      result.floors[way] = (await f.next()).cpuUsPerReport;
      f.proc.kill();
    }
    if (clients.includes("backtrace-ts")) {
      await sink.reset();
      const b = child("burst", { SERVICE_URL: sink.url });
      const out = await b.next();
      const stats = await sink.stats();
      b.proc.kill();
      result.burst = { cpuUsPerReport: (out.cpuMs * 1000) / Math.max(1, stats.reports), delivered: stats.reports, bytesPerReport: stats.wireBytes.reduce((a, x) => a + x, 0) / Math.max(1, stats.wireBytes.length) };
    }
    const down = await new Promise((resolve) => {
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => {
        const { port } = s.address();
        s.close(() => resolve(`http://127.0.0.1:${port}`));
      });
    });
    const hanging = net.createServer((socket) => socket.on("data", () => undefined));
    await new Promise((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const hangUrl = `http://127.0.0.1:${hanging.address().port}`;
    for (const client of clients.filter((c) => c !== "none")) {
      result.crash[client] = { up: await crashCell(client, sink.url), down: await crashCell(client, down), hanging: await crashCell(client, hangUrl) };
    }
    hanging.close();
  } finally {
    await sink.close();
  }
  const none = (key) => result.throughput[key]?.none?.rps;
  for (const key of Object.keys(result.throughput)) {
    printTable(
      `service at ${key} errors (${key === "50%" ? STORM_SECONDS : SECONDS} s, ${CONNECTIONS} connections)`,
      ["client", "req/s", "× none", "p99 ms", "CPU µs/req", "thrown", "reports", "accounted"],
      Object.entries(result.throughput[key]).map(([c, r]) => [c, r.rps?.toFixed(0), (r.rps / none(key)).toFixed(2), r.p99Ms?.toFixed(1), r.cpuUsPerRequest?.toFixed(1), r.thrown, r.reports, r.accounted]),
    );
  }
  printTable(`fixed rate ${FIXED_RATE} req/s, 10 % errors`, ["client", "req/s", "CPU µs/req", "p99 ms"], Object.entries(result.fixedRate10).map(([c, r]) => [c, r.rps?.toFixed(0), r.cpuUsPerRequest?.toFixed(1), r.p99Ms?.toFixed(1)]));
  printTable("burst of 5,000: CPU per report (µs)", ["way", "µs"], [...Object.entries(result.floors).map(([w, v]) => [w, v?.toFixed(1)]), ["backtrace-ts", result.burst?.cpuUsPerReport?.toFixed(1)]]);
  printTable("crash to exit (ms)", ["client", "up", "down", "never answering"], Object.entries(result.crash).map(([c, r]) => [c, r.up?.toFixed(0), r.down?.toFixed(0), r.hanging?.toFixed(0)]));
  emit(args, result);
}

const mode = process.env.SERVICE_MODE;
if (mode === "serve") await serve();
else if (mode === "floor") await floor();
else if (mode === "burst") await burst();
else if (mode === "crash") await crash();
else await main();
