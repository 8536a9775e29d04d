// A loopback HTTP receiver that answers both the Backtrace submission protocol and Sentry's
// envelope endpoint, and counts what arrives: connections, requests, reports, bytes, timing.
import http from "node:http";
import zlib from "node:zlib";
import { randomUUID } from "node:crypto";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const SAMPLE_LIMIT = 1000; // keep at most this many per-report byte counts

/** CPU time (user + system) this process has used, in ms. */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Wall-clock milliseconds comparable across processes on this machine. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

function emptyStats() {
  return {
    connections: 0, // TCP connections accepted
    socketsUsed: 0, // distinct connections that carried at least one request
    requests: 0,
    reports: 0, // Backtrace report POSTs + Sentry "event" envelope items
    occurrences: 0, // what the reports stand for: a Backtrace POST counts its `_mod_duplicate` (1 without it)
    merged: 0, // reports that carried a `_mod_duplicate` above 1
    uniqueIds: 0,
    otherItems: {}, // Sentry items that are not events (client_report, session, ...)
    status: {}, // answers given, by status code
    paths: {}, // request paths seen (query stripped), to spot unexpected traffic
    wireBytes: [], // body bytes as received, per report request
    decodedBytes: [], // body bytes after content-encoding is undone
    firstArrival: null,
    lastArrival: null,
  };
}

/** Parses a Sentry envelope buffer into item headers (payloads skipped by length or line). */
function envelopeItems(buf) {
  const items = [];
  let pos = buf.indexOf(10);
  if (pos < 0) return { header: safeJson(buf.toString()), items };
  const header = safeJson(buf.subarray(0, pos).toString());
  pos += 1;
  while (pos < buf.length) {
    let end = buf.indexOf(10, pos);
    if (end < 0) end = buf.length;
    const line = buf.subarray(pos, end).toString().trim();
    pos = end + 1;
    if (!line) continue;
    const itemHeader = safeJson(line);
    if (!itemHeader) break;
    items.push(itemHeader);
    if (typeof itemHeader.length === "number") {
      pos += itemHeader.length + 1;
    } else {
      const next = buf.indexOf(10, pos);
      pos = next < 0 ? buf.length : next + 1;
    }
  }
  return { header, items };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decode(body, encoding) {
  try {
    if (encoding === "gzip") return zlib.gunzipSync(body);
    if (encoding === "deflate") return zlib.inflateSync(body);
    if (encoding === "br") return zlib.brotliDecompressSync(body);
  } catch {
    // fall through: count the raw bytes
  }
  return body;
}

/**
 * Starts the sink on 127.0.0.1. `keepBodies` keeps the first few decoded bodies for inspection.
 * Returns { url, port, stats(), reset(), bodies(), close() }.
 */
export async function startSink({ host = "127.0.0.1", port = 0, keepBodies = 0 } = {}) {
  let stats = emptyStats();
  let ids = new Set();
  let used = new WeakSet();
  let bodies = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    if (!used.has(req.socket)) {
      used.add(req.socket);
      stats.socketsUsed += 1;
    }
    req.on("end", () => {
      const t = nowMs();
      stats.requests += 1;
      const path = (req.url ?? "/").split("?")[0];
      stats.paths[path] = (stats.paths[path] ?? 0) + 1;
      const raw = Buffer.concat(chunks);
      const body = decode(raw, req.headers["content-encoding"]);
      let reportsHere = 0;
      let answer;
      if (path.includes("/envelope")) {
        const { header, items } = envelopeItems(body);
        for (const item of items) {
          if (item.type === "event") {
            reportsHere += 1;
            if (header?.event_id) ids.add(header.event_id);
          } else {
            stats.otherItems[item.type] = (stats.otherItems[item.type] ?? 0) + 1;
          }
        }
        answer = "{}";
      } else if (req.method === "POST") {
        reportsHere = 1;
        const duplicates = Number(/[?&]_mod_duplicate=(\d+)/.exec(req.url ?? "")?.[1] ?? 1);
        stats.occurrences += duplicates - 1; // the 1 of each report is added with the reports below
        if (duplicates > 1) stats.merged += 1;
        const match = /"uuid"\s*:\s*"([^"]+)"/.exec(body.toString("latin1"));
        if (match) ids.add(match[1]);
        answer = JSON.stringify({ response: "ok", _rxid: randomUUID() });
      } else {
        answer = "{}";
      }
      if (reportsHere > 0) {
        stats.reports += reportsHere;
        stats.occurrences += reportsHere;
        if (stats.wireBytes.length < SAMPLE_LIMIT) {
          stats.wireBytes.push(raw.length / reportsHere);
          stats.decodedBytes.push(body.length / reportsHere);
        }
        if (bodies.length < keepBodies) bodies.push({ path, headers: req.headers, body: body.toString() });
        stats.firstArrival ??= t;
        stats.lastArrival = t;
      }
      stats.uniqueIds = ids.size;
      stats.status[200] = (stats.status[200] ?? 0) + 1;
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  server.on("connection", () => {
    stats.connections += 1;
  });
  server.keepAliveTimeout = 5000;
  await new Promise((resolve) => server.listen(port, host, resolve));
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `http://${host}:${actualPort}`,
    stats: () => ({ ...stats, at: nowMs(), cpuMs: cpuMs() }),
    reset() {
      stats = emptyStats();
      ids = new Set();
      used = new WeakSet();
      bodies = [];
    },
    bodies: () => bodies,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts the sink in its own process, so that its work does not land on the event loop being
 * measured. Returns the same shape as startSink, with async stats()/reset()/bodies().
 */
export async function startSinkProcess({ keepBodies = 0 } = {}) {
  const child = fork(fileURLToPath(import.meta.url), ["--sink-process", String(keepBodies)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 0;
  const waiting = new Map();
  child.on("message", (msg) => {
    const done = waiting.get(msg.id);
    if (done) {
      waiting.delete(msg.id);
      done(msg.value);
    }
  });
  const call = (op) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`sink did not answer ${op}`));
      }, 10_000);
      waiting.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      child.send({ id, op });
    });
  const { port, url } = await call("address");
  return {
    port,
    url,
    pid: child.pid,
    stats: () => call("stats"),
    reset: () => call("reset"),
    bodies: () => call("bodies"),
    async close() {
      await call("close").catch(() => {});
      if (child.exitCode === null) child.kill();
    },
  };
}

if (process.argv[2] === "--sink-process") {
  const sink = await startSink({ keepBodies: Number(process.argv[3] ?? 0) });
  process.on("message", async ({ id, op }) => {
    let value;
    if (op === "address") value = { port: sink.port, url: sink.url };
    else if (op === "stats") value = sink.stats();
    else if (op === "reset") value = sink.reset();
    else if (op === "bodies") value = sink.bodies();
    else if (op === "close") await sink.close();
    process.send({ id, value: value ?? null }, () => {
      if (op === "close") process.exit(0);
    });
  });
  process.on("disconnect", () => process.exit(0));
}
