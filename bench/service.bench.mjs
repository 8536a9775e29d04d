// (k) A live service: a node:http service in a child process, loaded by a closed-loop loopback load generator
// (raw keep-alive sockets, this process), every Nth request throwing and reported by the client under test to the
// sink (its own process). Per client (none, backtrace-ts, @backtrace/node, @sentry/node) and error share (0, 1, 10,
// 50 %): requests/s, p99 latency, the service's CPU per request, the time each capture takes on the request's path,
// occurrences thrown against occurrences accounted for (at the sink: the sum of `_mod_duplicate` counts, 1 for a plain
// report; plus what the client counted as dropped). Then the same service at a fixed offered rate (CPU per request),
// the floors of a 5,000 burst (one bare keep-alive socket; node:http with a keep-alive agent) next to backtrace-ts's
// CPU per report in the same burst, and crash-to-exit time with the receiver up, down and never answering.
//
// Method. On a small shared machine the load generator, the service and the sink (and whatever else runs) share the
// cores, and a service's throughput swings by tens of percent from one second to the next with the CPU share it gets,
// client or none. So, per share, the service without a client and the one with backtrace-ts are both started and
// warmed up (a second of load, at 10 % errors for the 1 % cells then half a second at 1 %: a second at 1 % runs the
// error path only some 500 times, which leaves it, V8's stack formatting and the client's code, in V8's baseline tier
// through the window; its reports delivered), then measured in `--rounds` (5) pairs of windows of `--seconds`
// (3 s; `--storm-seconds`, 5 s, at 50 %) back to back, the order swapped every round (none first, then backtrace-ts
// first, ...), each window's reports delivered and counted before the next starts. The ratio is the median of the
// rounds' backtrace-ts ÷ none (each round's shown); req/s, latency and CPU per request are the windows' medians and
// the counts their sums. "× none by CPU" is the median of none's CPU per request ÷ backtrace-ts's: what the client
// costs the service, whatever share of the machine it got. The peers get one window as long as the rounds together,
// against the median of none. About 6 minutes with the defaults (4 with 3 rounds).
// Run alone: node bench/service.bench.mjs [--quick] [--rounds 5] [--seconds 3] [--storm-seconds 5] [--clients a,b]
//   [--shares 0,1,10,50] [--only throughput,fixed,burst,crash] [--json out.json]
// To look into costs: --profile DIR (a V8 CPU profile of each measured window of each service), --read-stack (the
// service formats each error's stack itself, timed apart), --warmup-share N (the first warm-up second at N % errors
// when above the cell's), --rate R (the share cells at a fixed offered rate instead of the closed loop),
// --client-options JSON (backtrace-ts's options in the share cells, e.g. '{"collectSourceCode":false}').
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { availableClients, loadAdapter } from "./clients/index.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { emit, printTable } from "./lib/output.mjs";
import { makeBody } from "./lib/report-body.mjs";
import { nowMs, startSinkProcess } from "./lib/sink.mjs";
import { median, percentile } from "./lib/stats.mjs";

const args = parseArgs();
const self = fileURLToPath(import.meta.url);
const quick = args.quick === true;
// Alternating windows per share of none and backtrace-ts. Five: on this small shared machine one round's ratio swings
// from about 0.5× to 1.2× with the CPU share the service gets, and the median of three was still that noise.
const ROUNDS = Number(args.rounds ?? (quick ? 1 : 5));
const SECONDS = Number(args.seconds ?? (quick ? 2 : 3)); // one window
const STORM_SECONDS = Number(args["storm-seconds"] ?? 5); // one window at 50 %
const FIXED_SECONDS = Number(args["fixed-seconds"] ?? (quick ? 2 : 4));
const RATES = typeof args.shares === "string" ? args.shares.split(",").map((x) => Number(x) / 100) : [0, 0.01, 0.1, 0.5];
const PARTS = new Set(typeof args.only === "string" ? args.only.split(",") : ["throughput", "fixed", "burst", "crash"]);
const PROFILE_DIR = typeof args.profile === "string" ? args.profile : undefined;
const CONNECTIONS = 32;
const FIXED_RATE = Number(args["fixed-rate"] ?? 2000); // requests/s offered in the fixed-rate cells (10 % errors)
const BURST = 5000;
const BURST_RUNS = Number(args["burst-runs"] ?? (quick ? 1 : 3)); // fresh processes per floor and for the burst
const BURST_BREADCRUMBS = 100; // the second burst: a ring full of a logging service's lines (the default maxEntries)
const FLUSH_MS = 30_000;
const MAX_CAPTURE_TIMES = 200_000;
const WARMUP_SHARE = Number(args["warmup-share"] ?? 10) / 100; // error share of the first warm-up second (when above the cell's)
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
  const { SERVICE_CLIENT: client, SERVICE_URL: url, SERVICE_EVERY: everyText, SERVICE_PROFILE: profileDir } = process.env;
  let every = Number(everyText);
  const readStack = process.env.SERVICE_READ_STACK === "1";
  const adapter = client === "none" ? undefined : await loadAdapter(client);
  await adapter?.load();
  adapter?.init({ url, options: process.env.SERVICE_OPTIONS ? JSON.parse(process.env.SERVICE_OPTIONS) : {} });
  let served = 0;
  let thrown = 0;
  let captureMs = 0;
  let stackMs = 0;
  // Each capture's time on the request's path: the median is that of a capture the scheduler did not interrupt.
  let captureTimes = [];
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
      if (readStack) {
        // A service that logs its errors formats each stack itself (--read-stack): timed apart from the capture.
        const at = performance.now();
        void error.stack;
        stackMs += performance.now() - at;
      }
      const at = performance.now();
      adapter?.capture(error);
      const took = performance.now() - at;
      captureMs += took;
      if (captureTimes.length < MAX_CAPTURE_TIMES) captureTimes.push(took);
      res.writeHead(500, { "content-length": 2 });
      res.end("er");
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  let cpu;
  let label = "";
  // Garbage collection in the window, by kind (minor: scavenges; major: mark-compact), from V8's gc entries.
  let gc = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const major = entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
      gc[major ? "major" : "minor"]++;
      gc[major ? "majorMs" : "minorMs"] += entry.duration;
    }
  }).observe({ entryTypes: ["gc"] });
  const profiler = profileDir ? await startProfiler() : undefined;
  process.on("message", async (msg) => {
    if (msg.op === "start") {
      await profiler?.start();
      label = msg.label ?? "";
      gc = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
      served = 0;
      thrown = 0;
      captureMs = 0;
      stackMs = 0;
      captureTimes = [];
      cpu = process.cpuUsage();
      process.send({ ok: true });
    } else if (msg.op === "stop") {
      const used = process.cpuUsage(cpu);
      await profiler?.stop(join(profileDir, `${client.replace(/\W+/g, "_")}-${every}-${label}.cpuprofile`));
      const perError = (ms) => (thrown > 0 ? (ms * 1000) / thrown : null);
      process.send({ served, thrown, cpuMs: (used.user + used.system) / 1000, captureUs: perError(captureMs), captureMedianUs: thrown > 0 ? median(captureTimes) * 1000 : null, gc, stackUs: readStack ? perError(stackMs) : null });
    } else if (msg.op === "flush-wait") {
      // A window's reports are delivered before the next starts: what reaches the sink is that window's occurrences.
      await adapter?.flush(FLUSH_MS);
      process.send({ ok: true });
    } else if (msg.op === "every") {
      every = msg.every;
      process.send({ ok: true });
    } else if (msg.op === "counters") {
      process.send({ counters: adapter?.counters?.() ?? null });
    } else if (msg.op === "flush") {
      const started = nowMs();
      await adapter?.close(FLUSH_MS);
      process.send({ flushMs: nowMs() - started });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ port: server.address().port });
}

/** --profile DIR: a V8 CPU profile of each measured window of each service, written to DIR (for looking into costs). */
async function startProfiler() {
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, out) => (error ? reject(error) : resolve(out))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 100 });
  return {
    start: () => post("Profiler.start"),
    stop: async (file) => writeFileSync(file, JSON.stringify((await post("Profiler.stop")).profile)),
  };
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

/** A service with `client` at `share` errors, up and warmed (its warm-up's reports delivered): windows are measured on it. */
async function startService(sink, client, share, rate) {
  const every = share > 0 ? Math.round(1 / share) : 0;
  const env = { SERVICE_CLIENT: client, SERVICE_URL: sink.url, SERVICE_EVERY: String(every) };
  if (PROFILE_DIR) env.SERVICE_PROFILE = PROFILE_DIR;
  if (args["read-stack"]) env.SERVICE_READ_STACK = "1";
  if (typeof args["client-options"] === "string" && client === "backtrace-ts") env.SERVICE_OPTIONS = args["client-options"];
  const service = child("serve", env);
  const { port, error } = await service.next();
  if (error) {
    service.proc.kill("SIGKILL");
    return { error };
  }
  // The error path warmed as in a service that has been up a while: at 1 % errors a second of load runs it ~500 times,
  // which leaves it (V8's stack formatting and the client's code) in V8's baseline tier, unoptimised, through the window.
  const warmShare = share > 0 ? Math.max(share, WARMUP_SHARE) : 0;
  await service.call({ op: "every", every: warmShare > 0 ? Math.round(1 / warmShare) : 0 });
  await load(port, WARMUP_SECONDS, rate);
  await service.call({ op: "every", every });
  if (warmShare !== share) await load(port, WARMUP_SECONDS / 2, rate);
  await service.call({ op: "flush-wait" });
  const { counters } = await service.call({ op: "counters" });
  return { client, service, port, rate, lost: countedLost(counters), windows: 0 };
}

/** One measured window of load on a started service; its reports are delivered (and counted at the sink) before it returns. */
async function measureWindow(sink, svc, seconds) {
  await sink.reset();
  await svc.service.call({ op: "start", label: String(svc.windows++) });
  const loadResult = await load(svc.port, seconds, svc.rate);
  const served = await svc.service.call({ op: "stop" });
  await svc.service.call({ op: "flush-wait" });
  const stats = await sink.stats();
  // The client's counters are cumulative: this window's losses are what they grew by.
  const { counters } = await svc.service.call({ op: "counters" });
  const lostNow = countedLost(counters);
  const lost = lostNow - svc.lost;
  svc.lost = lostNow;
  return {
    ...loadResult,
    cpuUsPerRequest: (served.cpuMs * 1000) / Math.max(1, served.served),
    captureUs: served.captureUs,
    captureMedianUs: served.captureMedianUs,
    gc: served.gc,
    ...(served.stackUs != null ? { stackUs: served.stackUs } : {}),
    thrown: served.thrown,
    reports: stats.reports,
    occurrencesAtSink: stats.occurrences,
    countedLost: lost,
    accounted: stats.occurrences + lost,
    counters,
  };
}

async function stopService(svc) {
  try {
    const { flushMs } = await svc.service.call({ op: "flush" });
    return flushMs;
  } finally {
    svc.service.proc.kill("SIGKILL");
  }
}

/** Medians of the windows' rates, sums of their counts; the windows themselves kept. */
function summarizeWindows(windows) {
  const med = (k) => (windows.some((w) => w[k] == null) ? null : median(windows.map((w) => w[k])));
  const sum = (k) => windows.reduce((a, w) => a + w[k], 0);
  return {
    rps: med("rps"),
    p99Ms: med("p99Ms"),
    p50Ms: med("p50Ms"),
    cpuUsPerRequest: med("cpuUsPerRequest"),
    captureUs: med("captureUs"),
    captureMedianUs: med("captureMedianUs"),
    ...(windows[0]?.stackUs != null ? { stackUs: med("stackUs") } : {}),
    requests: sum("requests"),
    thrown: sum("thrown"),
    reports: sum("reports"),
    occurrencesAtSink: sum("occurrencesAtSink"),
    countedLost: sum("countedLost"),
    accounted: sum("accounted"),
    windows: windows.map(({ counters, ...w }) => w),
    counters: windows.at(-1)?.counters ?? null,
  };
}

/**
 * No client and backtrace-ts at one share: both services up and warmed, then `rounds` pairs of windows back to back,
 * the order swapped every round (none first, then backtrace-ts first, ...), so that both see the same moments of the
 * machine's load. The ratio is the median of each round's backtrace-ts ÷ none.
 */
async function pairedCells(sink, pair, share, seconds, rounds, rate) {
  const started = {};
  const windows = {};
  const out = {};
  try {
    for (const client of pair) {
      started[client] = await startService(sink, client, share, rate);
      if (started[client].error) out[client] = { error: started[client].error };
      else windows[client] = [];
    }
    const live = pair.filter((client) => windows[client]);
    for (let round = 0; round < rounds; round++) {
      for (const client of round % 2 === 0 ? live : [...live].reverse()) windows[client].push(await measureWindow(sink, started[client], seconds));
    }
    for (const client of live) out[client] = { ...summarizeWindows(windows[client]), flushMs: await stopService(started[client]) };
  } finally {
    for (const client of pair) started[client]?.service?.proc.kill("SIGKILL");
  }
  const none = windows.none;
  if (none) {
    for (const client of pair.filter((c) => c !== "none" && windows[c])) {
      const ratios = windows[client].map((w, i) => w.rps / none[i].rps);
      const cpuRatios = windows[client].map((w, i) => none[i].cpuUsPerRequest / w.cpuUsPerRequest);
      Object.assign(out[client], { ratio: median(ratios), ratios, cpuRatio: median(cpuRatios) });
    }
  }
  return out;
}

/** A client measured alone: one window as long as a pair's rounds together, after its own warm-up. */
async function singleCell(sink, client, share, seconds, rate) {
  const svc = await startService(sink, client, share, rate);
  if (svc.error) return { error: svc.error };
  try {
    const cell = await measureWindow(sink, svc, seconds);
    return { ...cell, flushMs: await stopService(svc) };
  } finally {
    svc.service.proc.kill("SIGKILL");
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
  // A service that logs (BURST_BREADCRUMBS lines before the burst): each report carries them, as its breadcrumbs
  // attachment and in its journal line. This child's stdout goes nowhere.
  for (let i = 0; i < Number(process.env.BURST_BREADCRUMBS ?? 0); i++) console.log(`GET /orders/${i} 200 in 3 ms for user ${i * 7}`);
  const place = (i) => new Error(`order ${i} failed`);
  adapter.capture(place(-1));
  await adapter.flush(5000);
  // The burst as the issue measures it, in a fresh process (V8 compiles the client's code meanwhile), then the same
  // burst again in the same process: what a report costs once the code is compiled.
  const bursts = [];
  for (let round = 0; round < 2; round++) {
    const sentBefore = adapter.counters()?.sent ?? 0;
    const cpu = process.cpuUsage();
    for (let i = 0; i < BURST; i++) adapter.capture(place(i));
    await adapter.flush(FLUSH_MS);
    const used = process.cpuUsage(cpu);
    bursts.push({ cpuMs: (used.user + used.system) / 1000, sent: (adapter.counters()?.sent ?? 0) - sentBefore });
  }
  process.send({ cpuMs: bursts[0].cpuMs, compiled: bursts[1], counters: adapter.counters() });
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
  const result = { seconds: SECONDS, stormSeconds: STORM_SECONDS, rounds: ROUNDS, warmupSeconds: WARMUP_SECONDS, fixedSeconds: FIXED_SECONDS, connections: CONNECTIONS, fixedRate: FIXED_RATE, clients, throughput: {}, fixedRate10: {}, floors: {}, burst: null, crash: {} };
  try {
    if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
    const pair = clients.filter((c) => c === "none" || c === "backtrace-ts");
    for (const share of PARTS.has("throughput") ? RATES : []) {
      const key = `${share * 100}%`;
      const seconds = share === 0.5 ? STORM_SECONDS : SECONDS;
      result.throughput[key] = await pairedCells(sink, pair, share, seconds, ROUNDS, args.rate === undefined ? undefined : Number(args.rate));
      for (const client of clients.filter((c) => !pair.includes(c))) {
        const cell = await singleCell(sink, client, share, seconds * ROUNDS);
        const none = result.throughput[key].none?.rps;
        result.throughput[key][client] = none && cell.rps ? { ...cell, ratio: cell.rps / none } : cell;
      }
    }
    for (const client of PARTS.has("fixed") ? clients : []) result.fixedRate10[client] = await singleCell(sink, client, 0.1, FIXED_SECONDS, FIXED_RATE);
    const bytes = 30_000;
    // Each floor and the burst in BURST_RUNS fresh processes, round by round (one process is one noisy sample here):
    // the medians are judged, the samples kept.
    const floorSamples = { "bare socket": [], "node:http agent": [] };
    const burstSamples = [];
    const breadcrumbSamples = [];
    for (let run = 0; run < (PARTS.has("burst") ? BURST_RUNS : 0); run++) {
      for (const way of Object.keys(floorSamples)) {
        const f = child("floor", { FLOOR_WAY: way, SERVICE_URL: sink.url, FLOOR_BYTES: String(bytes) });
        floorSamples[way].push((await f.next()).cpuUsPerReport);
        f.proc.kill();
      }
      if (!clients.includes("backtrace-ts")) continue;
      for (const [samples, crumbs] of [[burstSamples, 0], [breadcrumbSamples, BURST_BREADCRUMBS]]) {
        await sink.reset();
        const b = child("burst", { SERVICE_URL: sink.url, BURST_BREADCRUMBS: String(crumbs) });
        const out = await b.next();
        const stats = await sink.stats();
        b.proc.kill();
        // The sink counts both bursts; the first one's reports are what the client counted sent in it.
        const firstSent = out.counters?.sent !== undefined && out.compiled ? out.counters.sent - out.compiled.sent - 1 : stats.reports;
        samples.push({
          cpuUsPerReport: (out.cpuMs * 1000) / Math.max(1, firstSent),
          delivered: firstSent,
          compiledCpuUsPerReport: out.compiled ? (out.compiled.cpuMs * 1000) / Math.max(1, out.compiled.sent) : undefined,
          compiledDelivered: out.compiled?.sent,
          atSink: stats.reports,
          bytesPerReport: stats.wireBytes.reduce((a, x) => a + x, 0) / Math.max(1, stats.wireBytes.length),
        });
      }
    }
    if (PARTS.has("burst")) {
      result.floors = Object.fromEntries(Object.entries(floorSamples).map(([way, xs]) => [way, median(xs)]));
      result.floorSamples = floorSamples;
    }
    const summary = (samples) => {
      const mid = (key) => median(samples.map((x) => x[key]).filter((x) => x !== undefined));
      return {
        cpuUsPerReport: mid("cpuUsPerReport"),
        delivered: Math.min(...samples.map((x) => x.delivered)),
        compiledCpuUsPerReport: mid("compiledCpuUsPerReport"),
        compiledDelivered: Math.min(...samples.map((x) => x.compiledDelivered ?? 0)),
        atSink: mid("atSink"),
        bytesPerReport: mid("bytesPerReport"),
        samples,
      };
    };
    if (burstSamples.length > 0) result.burst = summary(burstSamples);
    if (breadcrumbSamples.length > 0) result.burstBreadcrumbs = { breadcrumbs: BURST_BREADCRUMBS, ...summary(breadcrumbSamples) };
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
    for (const client of PARTS.has("crash") ? clients.filter((c) => c !== "none") : []) {
      result.crash[client] = { up: await crashCell(client, sink.url), down: await crashCell(client, down), hanging: await crashCell(client, hangUrl) };
    }
    hanging.close();
  } finally {
    await sink.close();
  }
  for (const key of Object.keys(result.throughput)) {
    const paired = (r) => (r.windows ? `${r.windows.length} × ${key === "50%" ? STORM_SECONDS : SECONDS} s` : "1 window");
    const ratioText = (r) => (r.ratios ? `${r.ratio.toFixed(2)} (${r.ratios.map((x) => x.toFixed(2)).join(" ")})` : r.ratio?.toFixed(2) ?? "");
    printTable(
      `service at ${key} errors (${CONNECTIONS} connections)`,
      ["client", "windows", "req/s", "× none (each round)", "× none by CPU", "p99 ms", "CPU µs/req", "capture µs/error", "thrown", "reports", "accounted"],
      Object.entries(result.throughput[key]).map(([c, r]) => [c, paired(r), r.rps?.toFixed(0), ratioText(r), r.cpuRatio?.toFixed(2) ?? "", r.p99Ms?.toFixed(1), r.cpuUsPerRequest?.toFixed(1), r.captureUs?.toFixed(1) ?? "", r.thrown, r.reports, r.accounted]),
    );
  }
  if (PARTS.has("fixed")) printTable(`fixed rate ${FIXED_RATE} req/s, 10 % errors`, ["client", "req/s", "CPU µs/req", "p99 ms"], Object.entries(result.fixedRate10).map(([c, r]) => [c, r.rps?.toFixed(0), r.cpuUsPerRequest?.toFixed(1), r.p99Ms?.toFixed(1)]));
  if (PARTS.has("burst")) printTable("burst of 5,000: CPU per report (µs)", ["way", "µs"], [...Object.entries(result.floors).map(([w, v]) => [w, v?.toFixed(1)]), ["backtrace-ts", result.burst?.cpuUsPerReport?.toFixed(1)], ["backtrace-ts, code compiled", result.burst?.compiledCpuUsPerReport?.toFixed(1)], [`backtrace-ts, ${BURST_BREADCRUMBS} breadcrumbs`, result.burstBreadcrumbs?.cpuUsPerReport?.toFixed(1)], [`backtrace-ts, ${BURST_BREADCRUMBS} breadcrumbs, code compiled`, result.burstBreadcrumbs?.compiledCpuUsPerReport?.toFixed(1)]]);
  if (PARTS.has("crash")) printTable("crash to exit (ms)", ["client", "up", "down", "never answering"], Object.entries(result.crash).map(([c, r]) => [c, r.up?.toFixed(0), r.down?.toFixed(0), r.hanging?.toFixed(0)]));
  emit(args, result);
}

const mode = process.env.SERVICE_MODE;
if (mode === "serve") await serve();
else if (mode === "floor") await floor();
else if (mode === "burst") await burst();
else if (mode === "crash") await crash();
else await main();
