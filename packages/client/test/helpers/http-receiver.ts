// A scriptable HTTP(S) server on 127.0.0.1 that records every request and validates every report body.
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { validateReport, type ValidationResult } from "backtrace-ts-receiver/validate";

export interface Part {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  data: Buffer;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The report: the JSON body, or the `upload_file` part of a multipart body. */
  report: unknown;
  parts: Part[] | undefined;
  validation: ValidationResult | undefined;
  /** Date.now() when the request arrived (headers received). */
  at: number;
  /** Which TCP connection carried it (1-based). */
  connection: number;
}

/** What to do with one request; the default answers 200 with an `_rxid`. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  /** Read the request, then never answer. */
  hang?: boolean;
  /** Destroy the socket as soon as the first bytes of the body arrive. */
  destroyMidBody?: boolean;
}

export interface ReceiverOptions {
  /** Called for each request in arrival order (index from 0); undefined means the default reply. */
  script?: (index: number, request: http.IncomingMessage) => Reply | undefined;
  tls?: { key: string; cert: string };
  port?: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Most connections open at the same time. */
  peakConnections(): number;
  /** Resolves when at least n requests were recorded; rejects after timeoutMs. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Splits a multipart/form-data body into its parts. */
export function parseMultipart(body: Buffer, contentType: string): Part[] {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at !== 0) throw new Error("multipart body does not start with the boundary");
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === "--") break;
    if (body.subarray(at, at + 2).toString() !== "\r\n") throw new Error("malformed boundary line");
    at += 2;
    const headerEnd = body.indexOf("\r\n\r\n", at);
    if (headerEnd < 0) throw new Error("part without header end");
    const headers = body.subarray(at, headerEnd).toString("utf8").split("\r\n");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw new Error("part without closing boundary");
    const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? "";
    const type = headers.find((h) => /^content-type:/i.test(h));
    parts.push({
      name: /\bname="([^"]*)"/.exec(disposition)?.[1] ?? "",
      filename: /\bfilename="([^"]*)"/.exec(disposition)?.[1],
      contentType: type?.replace(/^content-type:\s*/i, ""),
      data: body.subarray(headerEnd + 4, next),
    });
    at = next + 2;
  }
  return parts;
}

function decode(body: Buffer, contentType: string): { report: unknown; parts: Part[] | undefined } {
  if (contentType.startsWith("multipart/form-data")) {
    const parts = parseMultipart(body, contentType);
    const upload = parts.find((p) => p.name === "upload_file");
    return { report: upload ? JSON.parse(upload.data.toString("utf8")) : undefined, parts };
  }
  return { report: JSON.parse(body.toString("utf8")), parts: undefined };
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const sockets = new Map<Socket, number>();
  const hanging = new Set<http.ServerResponse>();
  let connectionCount = 0;
  let peak = 0;
  let arrivals = 0;
  const waiters: Array<() => void> = [];

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const index = arrivals++;
    const at = Date.now();
    const reply = options.script?.(index, req) ?? {};
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      if (reply.destroyMidBody) {
        req.socket.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const contentType = req.headers["content-type"] ?? "";
      let decoded: { report: unknown; parts: Part[] | undefined } = { report: undefined, parts: undefined };
      let validation: ValidationResult | undefined;
      try {
        decoded = decode(body, contentType);
        validation = validateReport(decoded.report);
      } catch (error) {
        validation = { valid: false, errors: [`undecodable body: ${(error as Error).message}`], flags: [] };
      }
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        report: decoded.report,
        parts: decoded.parts,
        validation,
        at,
        connection: sockets.get(req.socket) ?? 0,
      });
      for (const wake of waiters.splice(0)) wake();
      if (reply.hang) {
        hanging.add(res);
        return;
      }
      const answer = (): void => {
        res.writeHead(reply.status ?? 200, { "Content-Type": "application/json", ...reply.headers });
        res.end(reply.body ?? JSON.stringify({ response: "ok", _rxid: randomUUID() }));
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  };

  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  server.on("connection", (socket: Socket) => {
    sockets.set(socket, ++connectionCount);
    peak = Math.max(peak, sockets.size);
    socket.on("close", () => sockets.delete(socket));
  });
  // TLS servers see the raw socket in "connection" and the TLS socket in requests.
  server.on("secureConnection", (socket: Socket) => sockets.set(socket, connectionCount));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}/post?format=json&token=t0k3n`,
    port,
    requests,
    connections: () => connectionCount,
    peakConnections: () => peak,
    waitFor(n, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} requests, got ${requests.length}`)), timeoutMs);
        const check = (): void => {
          if (requests.length >= n) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      for (const res of hanging) res.destroy();
      for (const socket of sockets.keys()) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `run` with a fresh receiver, closed afterwards whatever happens. */
export async function withReceiver(run: (receiver: Receiver) => Promise<void>, options: ReceiverOptions = {}): Promise<void> {
  const receiver = await startReceiver(options);
  try {
    await run(receiver);
  } finally {
    await receiver.close();
  }
}

/** A report body that passes the schema, with the given uuid. */
export function reportJson(uuid: string = randomUUID(), extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    uuid,
    timestamp: Math.floor(Date.now() / 1000),
    lang: "nodejs",
    langVersion: process.version,
    agent: "backtrace-ts",
    agentVersion: "0.1.0",
    threads: { main: { name: "main", fault: true, stack: [{ funcName: "f", line: 1, column: 1 }] } },
    mainThread: "main",
    classifiers: ["Error"],
    attributes: { "error.type": "Exception", "error.message": "boom" },
    annotations: {},
    ...extra,
  });
}
