import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { ConnectionPool } from "../../src/transport/http1.js";
import { AnswerParser, type Answer } from "../../src/transport/answer-parser.js";
import { rawServer } from "../helpers/raw-server.js";

/** Feeds `raw` to a parser cut at `cuts`; returns what it answered and after which piece. */
function parse(raw: string, cuts: number[] = [], keep = 1024): { answer: Answer; reusable: boolean; at: number } | undefined {
  const parser = new AnswerParser(keep);
  const bytes = Buffer.from(raw, "latin1");
  const points = [0, ...cuts, bytes.length];
  for (let i = 1; i < points.length; i++) {
    const out = parser.push(bytes.subarray(points[i - 1], points[i]));
    if (out) return { ...out, at: i };
  }
  const ended = parser.end();
  return ended ? { answer: ended, reusable: false, at: points.length } : undefined;
}

const LENGTH = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{"response":"ok","_rxid":"rx-42"}';
const CHUNKED =
  "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nRetry-After: 7\r\n\r\n" +
  "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

test("parses a Content-Length answer and a chunked one, whatever the bytes are cut into", () => {
  for (const [raw, status, body, headers] of [
    [LENGTH, 200, '{"response":"ok","_rxid":"rx-42"}', { "content-type": "application/json", "content-length": "33" }],
    [CHUNKED, 503, "hello world", { "transfer-encoding": "chunked", "retry-after": "7" }],
  ] as const) {
    for (let a = 1; a < raw.length; a += 3) {
      for (const b of [a + 1, a + 7, raw.length - 1]) {
        const cuts = [a, b].filter((x) => x > 0 && x < raw.length).sort((x, y) => x - y);
        const out = parse(raw, cuts);
        assert.ok(out, `cut at ${cuts}`);
        assert.equal(out.answer.status, status);
        assert.equal(out.answer.body.toString(), body);
        assert.deepEqual({ ...out.answer.headers }, headers);
        assert.equal(out.reusable, true);
      }
    }
  }
});

test("the parser keeps nothing of a chunk it was given: the connection may read into that buffer again at once", () => {
  // A plain connection hands the parser views of one buffer it reads every answer into (onread).
  for (const raw of [LENGTH, CHUNKED]) {
    const bytes = Buffer.from(raw, "latin1");
    for (let a = 1; a < raw.length; a += 2) {
      for (const b of [a + 1, a + 5]) {
        const parser = new AnswerParser(1024);
        const shared = Buffer.alloc(raw.length);
        let out;
        for (const [from, to] of [[0, a], [a, Math.min(b, raw.length)], [Math.min(b, raw.length), raw.length]] as const) {
          if (from >= to || out) continue;
          bytes.copy(shared, 0, from, to);
          out = parser.push(shared.subarray(0, to - from));
          shared.fill(0x21); // the next read overwrites it
        }
        assert.ok(out, `cut at ${a}, ${b}`);
        assert.equal(out.answer.body.toString(), raw === LENGTH ? '{"response":"ok","_rxid":"rx-42"}' : "hello world", `cut at ${a}, ${b}`);
        assert.equal(out.answer.status, raw === LENGTH ? 200 : 503);
      }
    }
  }
});

test("a head read again is read as it says: heads one byte apart never mix, and no answer can change another's headers", () => {
  const head = (status: number, length: number, extra = "") => `HTTP/1.1 ${status} X\r\nContent-Length: ${length}\r\nConnection: keep-alive${extra}\r\n\r\n`;
  const answers = [
    [head(200, 2) + "ok", 200, "ok", true],
    [head(200, 2) + "ok", 200, "ok", true],
    [head(200, 2) + "ok", 200, "ok", true],
    [head(200, 3) + "yes", 200, "yes", true],
    [head(201, 2) + "ok", 201, "ok", true],
    [head(200, 2, "\r\nConnection: close") + "ok", 200, "ok", false],
    [head(200, 2) + "ok", 200, "ok", true],
    [`HTTP/1.1 200 X\r\nConnection: keep-alive\r\n\r\nto the end`, 200, "to the end", false],
  ] as const;
  let previous: { raw: string; answer: Answer } | undefined;
  for (const [raw, status, body, reusable] of answers) {
    const out = parse(raw);
    assert.ok(out, raw);
    assert.equal(out.answer.status, status, raw);
    assert.equal(out.answer.body.toString(), body, raw);
    assert.equal(out.reusable, reusable, raw);
    // One head read again gives the same headers, shared; another head its own.
    if (previous?.raw === raw) assert.equal(out.answer.headers, previous.answer.headers);
    else assert.notEqual(out.answer.headers, previous?.answer.headers);
    assert.equal(out.answer.headers["content-length"], raw.includes("Content-Length") ? String(body.length) : undefined, raw);
    assert.equal(out.answer.headers["connection"], raw.includes("close") ? "keep-alive, close" : "keep-alive", raw);
    // Shared, so frozen: a reader cannot change them, for itself or for the next answer.
    assert.throws(() => ((out.answer.headers as Record<string, string>)["content-length"] = "999"), TypeError);
    previous = { raw, answer: out.answer };
  }
});

test("skips interim 1xx answers, reads a body to the end of the connection when it has no length", () => {
  const interim = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
  assert.equal(interim?.answer.status, 201);
  assert.equal(interim?.answer.body.toString(), "ok");
  const toClose = parse("HTTP/1.0 200 OK\r\n\r\nall of this", [20]);
  assert.equal(toClose?.answer.body.toString(), "all of this");
  assert.equal(toClose?.reusable, false);
  assert.equal(toClose?.at, 3, "complete only when the connection ends");
});

test("says when a connection cannot carry another request: close, HTTP/1.0 without keep-alive, extra bytes", () => {
  assert.equal(parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")?.reusable, false);
  assert.equal(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")?.reusable, false);
  assert.equal(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")?.reusable, true);
  assert.equal(parse("HTTP/1.1 204 No Content\r\n\r\n")?.reusable, true);
  assert.equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy")?.reusable, false);
});

test("keeps at most the body bytes asked for and still reads the whole answer", () => {
  const body = "z".repeat(10_000);
  const out = parse(`HTTP/1.1 429 Too Many Requests\r\nContent-Length: ${body.length}\r\n\r\n${body}`, [100, 5000], 64);
  assert.equal(out?.answer.body.length, 64);
  assert.equal(out?.reusable, true);
});

test("refuses what is not an HTTP/1.x answer, a bad length or chunk size, an endless head", () => {
  assert.throws(() => parse("SSH-2.0-OpenSSH\r\n\r\n"), /not HTTP/);
  assert.throws(() => parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), /Content-Length/);
  assert.throws(() => parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), /chunk size/);
  assert.throws(() => parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"), /chunk/);
  assert.throws(() => parse("HTTP/1.1 200 OK\r\nX: " + "a".repeat(70 * 1024)), /too long/);
  assert.throws(() => parse("HTTP/1.1 200 OK\nContent-Length: 0\n\n"), /without CR/);
  for (const length of ["", "0x2", "1e3", " ", "2, 2"]) {
    assert.throws(() => parse(`HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\n\r\n`), /Content-Length/, `Content-Length "${length}"`);
  }
  assert.throws(() => parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2zz\r\nab\r\n0\r\n\r\n"), /chunk size/);
  assert.equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc"), undefined, "incomplete: no answer yet");
});

const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

function request(body: string): { head: string; body: string[]; keepBodyBytes: number } {
  return { head: `POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`, body: [body], keepBodyBytes: 1024 };
}

test("a pool opens at most maxSockets connections, queues the rest in order and reuses connections", async (t) => {
  const server = await rawServer(t, () => ok);
  const pool = new ConnectionPool(server.url, { maxSockets: 3, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => pool.exchange(request(`body ${i}`)).answer));
  assert.ok(answers.every((a) => a.status === 200 && a.body.toString() === "ok"));
  assert.equal(server.requests.length, 30);
  assert.equal(server.connections(), 3);
  // One connection: waiting requests go out in the order they came.
  const single = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => single.destroy());
  await Promise.all(Array.from({ length: 10 }, (_, i) => single.exchange(request(`order ${i}`)).answer));
  assert.deepEqual(
    server.requests.slice(30).map((r) => Number(r.split("order ")[1])),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(server.connections(), 4);
});

test("answers written in pieces and bodies longer than one read come whole, on every connection of the pool", async (t) => {
  const long = "x".repeat(40_000) + "end";
  const server = await rawServer(t, (i, socket) => {
    const body = i % 2 === 0 ? `answer ${i}` : `${i}:${long}`;
    const raw = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    // The head in three writes, apart in time, so that it arrives in more than one read.
    socket.write(raw.slice(0, 7));
    setTimeout(() => socket.write(raw.slice(7, 20)), 5);
    setTimeout(() => socket.write(raw.slice(20)), 10);
    return undefined;
  });
  const pool = new ConnectionPool(server.url, { maxSockets: 2, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => pool.exchange({ ...request("b"), keepBodyBytes: 64 * 1024 }).answer),
  );
  const bodies = answers.map((a) => a.body.toString()).sort();
  const expected = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? `answer ${i}` : `${i}:${long}`)).sort();
  assert.deepEqual(bodies, expected);
  assert.equal(server.connections(), 2);
});

test("a connection the server closes, or that answered with Connection: close, is not reused", async (t) => {
  const server = await rawServer(t, (i, socket) => {
    if (i === 0) return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    if (i === 1) {
      socket.end(ok); // answers, then closes while the connection is idle
      return undefined;
    }
    return ok;
  });
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  for (let i = 0; i < 3; i++) {
    assert.equal((await pool.exchange(request(`r${i}`)).answer).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(server.connections(), 3);
});

test("an idle connection is closed after idleCloseMs; the next request opens a new one", async (t) => {
  const server = await rawServer(t, () => ok);
  let closed = 0;
  server.server.on("connection", (socket) => socket.on("close", () => (closed += 1)));
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false, limits: { idleCloseMs: 50 } });
  t.after(() => pool.destroy());
  assert.equal((await pool.exchange(request("a")).answer).status, 200);
  assert.equal((await pool.exchange(request("b")).answer).status, 200);
  assert.equal(server.connections(), 1, "reused while fresh");
  while (closed === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal((await pool.exchange(request("c")).answer).status, 200);
  assert.equal(server.connections(), 2);
});

test("an exchange destroyed while waiting for a connection, or in flight, rejects with its reason and frees the slot", async (t) => {
  const server = await rawServer(t, (i) => (i === 0 ? undefined : ok)); // never answers the first
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  const hanging = pool.exchange(request("first"));
  const queued = pool.exchange(request("second"));
  queued.destroy(new Error("gave up waiting"));
  await assert.rejects(queued.answer, /gave up waiting/);
  while (server.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  hanging.destroy(new Error("deadline"));
  await assert.rejects(hanging.answer, /deadline/);
  assert.equal((await pool.exchange(request("third")).answer).status, 200);
  assert.deepEqual(server.requests.map((r) => r.split("\r\n\r\n")[1]), ["first", "third"]);
});

test("a server that closes without answering, or answers garbage, fails the exchange; a destroyed pool refuses", async (t) => {
  const server = await rawServer(t, (i, socket) => {
    if (i === 0) socket.destroy();
    else socket.write("nonsense\r\n\r\n");
    return undefined;
  });
  const pool = new ConnectionPool(server.url, { maxSockets: 2, ignoreSslCertificate: false });
  await assert.rejects(pool.exchange(request("a")).answer, /closed before the answer|ECONNRESET/);
  await assert.rejects(pool.exchange(request("b")).answer, /not HTTP/);
  pool.destroy();
  await assert.rejects(pool.exchange(request("c")).answer, /closed/);
});

test("a request never takes an idle connection that is already closing", async (t) => {
  const server = await rawServer(t, () => ok);
  const pool = new ConnectionPool(server.url, { maxSockets: 2, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  await Promise.all([pool.exchange(request("a")).answer, pool.exchange(request("b")).answer]);
  // Both connections are idle; close them the way an idle timeout or a server's FIN does, and ask
  // again before their "close" events have come.
  const idle = (pool as unknown as { idle: Array<{ conn: Socket }> }).idle;
  assert.equal(idle.length, 2);
  for (const link of idle) link.conn.destroy();
  const answer = await pool.exchange(request("c")).answer;
  assert.equal(answer.status, 200);
  assert.equal(server.connections(), 3);
});

test("destroying the pool ends exchanges in flight with an error", async (t) => {
  const server = await rawServer(t, () => undefined); // never answers
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  const inFlight = pool.exchange(request("a"));
  const waiting = pool.exchange(request("b"));
  while (server.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  pool.destroy();
  await assert.rejects(inFlight.answer, /pool closed/);
  await assert.rejects(waiting.answer, /pool closed/);
});
