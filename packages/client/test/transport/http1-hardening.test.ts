import { test } from "node:test";
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { ConnectionPool } from "../../src/transport/http1.js";
import { AnswerParser, keepAliveHint } from "../../src/transport/answer-parser.js";
import { rawServer } from "../helpers/raw-server.js";
import { selfSignedCert } from "../helpers/tls.js";

const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function request(body: string): { head: string; body: string[]; keepBodyBytes: number } {
  return { head: `POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`, body: [body], keepBodyBytes: 1024 };
}

test("new TLS connections resume the origin's last session", async (t) => {
  let reused = 0;
  // Every answer closes its connection, so each request opens a new one.
  const server = await rawServer(
    t,
    (_, socket) => {
      if ((socket as TLSSocket).isSessionReused()) reused += 1;
      return "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    },
    selfSignedCert(),
  );
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: true });
  t.after(() => pool.destroy());
  for (let i = 0; i < 10; i++) assert.equal((await pool.exchange(request(`r${i}`)).answer).status, 200);
  assert.equal(server.connections(), 10);
  assert.equal(reused, 9, "all but the first connection resume");
});

test("reads the server's Keep-Alive timeout", () => {
  assert.equal(keepAliveHint("timeout=5, max=100"), 5000);
  assert.equal(keepAliveHint("max=100, timeout=2"), 2000);
  assert.equal(keepAliveHint("Timeout = 3"), 3000);
  assert.equal(keepAliveHint("max=5"), undefined);
  assert.equal(keepAliveHint(undefined), undefined);
});

test("an idle connection is closed before the server's Keep-Alive timeout runs out: no request meets a closing connection", async (t) => {
  // The server keeps an idle connection 2 s. It does not close it at that moment: a request that comes on a
  // connection idle that long is refused (the socket destroyed, nothing answered), which is what a client
  // meets when its request crosses the server's close on the wire. Without the hint, the pool keeps idle
  // connections 4 s and would send the second round on them.
  const lastAnswer = new Map<Socket, number>();
  let late = 0;
  const server = await rawServer(t, (_, socket) => {
    const last = lastAnswer.get(socket);
    if (last !== undefined && Date.now() - last >= 2000) {
      late += 1;
      socket.destroy();
      return undefined;
    }
    lastAnswer.set(socket, Date.now());
    return "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 2\r\n\r\nok";
  });
  const pool = new ConnectionPool(server.url, { maxSockets: 4, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  const round = async (name: string): Promise<number[]> =>
    Promise.all(Array.from({ length: 4 }, async (_, i) => (await pool.exchange(request(`${name}${i}`)).answer).status));
  assert.deepEqual(await round("a"), [200, 200, 200, 200]);
  await sleep(2300);
  assert.deepEqual(await round("b"), [200, 200, 200, 200]);
  assert.equal(late, 0, "no request was sent on a connection the server had given up");
  assert.equal(server.requests.length, 8);
});

test("a Keep-Alive timeout too short for the margin means the connection is not kept; a long one is capped by the pool's idle time", async (t) => {
  const short = await rawServer(t, () => "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok");
  const pool = new ConnectionPool(short.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  for (let i = 0; i < 3; i++) assert.equal((await pool.exchange(request(`s${i}`)).answer).status, 200);
  assert.equal(short.connections(), 3);

  const long = await rawServer(t, () => "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=600\r\nContent-Length: 2\r\n\r\nok");
  let closed = 0;
  long.server.on("connection", (socket) => socket.on("close", () => (closed += 1)));
  const capped = new ConnectionPool(long.url, { maxSockets: 1, ignoreSslCertificate: false, limits: { idleCloseMs: 50 } });
  t.after(() => capped.destroy());
  assert.equal((await capped.exchange(request("l")).answer).status, 200);
  while (closed === 0) await sleep(10);
  assert.equal(long.connections(), 1);
});

test("a reused connection that dies before any byte of the answer: the request is sent again at once on a fresh one", async (t) => {
  const seen = new Set<Socket>();
  const server = await rawServer(t, (_, socket) => {
    // The second request on a connection finds it closed, as when the server's idle close crossed it.
    if (seen.has(socket)) {
      socket.destroy();
      return undefined;
    }
    seen.add(socket);
    return ok;
  });
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  assert.equal((await pool.exchange(request("first")).answer).status, 200);
  assert.equal((await pool.exchange(request("second")).answer).status, 200);
  assert.deepEqual(server.requests.map((r) => r.split("\r\n\r\n")[1]), ["first", "second", "second"]);
  assert.equal(server.connections(), 2);
});

test("no retry when the answer had begun, when the connection was new, nor a second time", async (t) => {
  const partial = await rawServer(t, (i, socket) => {
    if (i === 0) return ok;
    socket.end("HTTP/1.1 200 OK\r\nContent-Le"); // the server saw the request: it is not sent again
    return undefined;
  });
  const pool = new ConnectionPool(partial.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  await pool.exchange(request("a")).answer;
  await assert.rejects(pool.exchange(request("b")).answer, /closed before the answer/);
  assert.equal(partial.requests.length, 2);

  // After one answer, the server drops every request: the reused connection's request is retried once, on a
  // fresh connection, which fails too: the error is the answer.
  const dropping = await rawServer(t, (i, socket) => {
    if (i === 0) return ok;
    socket.destroy();
    return undefined;
  });
  const once = new ConnectionPool(dropping.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => once.destroy());
  await once.exchange(request("a")).answer;
  await assert.rejects(once.exchange(request("b")).answer, /closed before the answer|ECONNRESET/);
  assert.deepEqual(dropping.requests.map((r) => r.split("\r\n\r\n")[1]), ["a", "b", "b"]);
  assert.equal(dropping.connections(), 2);
});

test("answer headers named like Object's properties come out as sent", async (t) => {
  const server = await rawServer(
    t,
    () => "HTTP/1.1 200 OK\r\nConstructor: c\r\n__proto__: p\r\ntoString: s\r\nHasOwnProperty: h\r\nContent-Length: 2\r\n\r\nok",
  );
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  const { headers } = await pool.exchange(request("x")).answer;
  assert.equal(headers["constructor"], "c");
  assert.equal(headers["__proto__"], "p");
  assert.equal(headers["tostring"], "s");
  assert.equal(headers["hasownproperty"], "h");
  assert.deepEqual(Object.keys(headers), ["constructor", "__proto__", "tostring", "hasownproperty", "content-length"]);
  assert.equal(headers["retry-after"], undefined);
});

test("an answer head over 64 KB is refused, also when it comes whole in one read", async (t) => {
  const huge = `HTTP/1.1 200 OK\r\nX-Filler: ${"a".repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\nok`;
  assert.throws(() => new AnswerParser(1024).push(Buffer.from(huge, "latin1")), /head is too long/);
  const fits = `HTTP/1.1 200 OK\r\nX-Filler: ${"a".repeat(60 * 1024)}\r\nContent-Length: 2\r\n\r\nok`;
  assert.equal(new AnswerParser(1024).push(Buffer.from(fits, "latin1"))?.answer.status, 200);
  const server = await rawServer(t, () => huge);
  const pool = new ConnectionPool(server.url, { maxSockets: 1, ignoreSslCertificate: false });
  t.after(() => pool.destroy());
  await assert.rejects(pool.exchange(request("x")).answer, /head is too long/);
});

test("the connect, head and body timeouts end an exchange with an error naming each", async (t) => {
  // Only the limit under test is short: the others are long, so that a stall of the machine (more than 100 ms
  // between two steps of the exchange) cannot end it at an earlier step under another limit's name.
  const long = { connectTimeoutMs: 30_000, headTimeoutMs: 30_000, bodyTimeoutMs: 30_000 };
  // TCP connects, the TLS handshake never comes: the connect timeout covers the handshake.
  const mute = await rawServer(t, () => undefined);
  const tls = new ConnectionPool(mute.url.replace("http:", "https:"), { maxSockets: 1, ignoreSslCertificate: true, limits: { ...long, connectTimeoutMs: 100 } });
  t.after(() => tls.destroy());
  await assert.rejects(tls.exchange(request("c")).answer, /could not connect within 100 ms/);

  const plain = new ConnectionPool(mute.url, { maxSockets: 1, ignoreSslCertificate: false, limits: { ...long, headTimeoutMs: 100 } });
  t.after(() => plain.destroy());
  await assert.rejects(plain.exchange(request("h")).answer, /no answer head within 100 ms/);

  const stalling = await rawServer(t, () => "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  const body = new ConnectionPool(stalling.url, { maxSockets: 1, ignoreSslCertificate: false, limits: { ...long, bodyTimeoutMs: 100 } });
  t.after(() => body.destroy());
  await assert.rejects(body.exchange(request("b")).answer, /no answer body bytes for 100 ms/);
});
