// Test helpers: a real receiver in a fresh temp dir, real HTTP requests, and report bodies shaped like the official clients'.
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { request, type Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startReceiver, type ReceiverOptions, type RunningReceiver } from "../src/index.js";

export interface TempReceiver {
  receiver: RunningReceiver;
  url: string;
  dir: string;
  db: string;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "bt-receiver-test-"));
}

export async function startTemp(options: ReceiverOptions = {}, dir = tempDir()): Promise<TempReceiver> {
  const db = join(dir, "reports.sqlite");
  const receiver = await startReceiver({ port: 0, host: "127.0.0.1", db, ...options });
  return { receiver, url: receiver.url, dir, db };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface PostOptions {
  headers?: Record<string, string>;
  /** Send without Content-Length, in pieces of this many bytes (Transfer-Encoding: chunked). */
  chunked?: number;
  method?: string;
  /** A keep-alive agent to reuse connections; by default each request has its own connection. */
  agent?: Agent;
}

/** One HTTP request on a fresh connection; resolves with status, headers and the parsed JSON body when there is one. */
export function send(url: string, body?: Buffer | string, options: PostOptions = {}): Promise<Reply> {
  const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (data && !options.chunked) headers["content-length"] = String(data.length);
    const req = request(url, { method: options.method ?? (data ? "POST" : "GET"), headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    if (data && options.chunked) {
      for (let i = 0; i < data.length; i += options.chunked) req.write(data.subarray(i, i + options.chunked));
      req.end();
    } else req.end(data);
  });
}

export function getJson(url: string): Promise<any> {
  return send(url).then((reply) => {
    if (reply.status !== 200) throw new Error(`GET ${url} answered ${reply.status}: ${reply.text}`);
    return reply.json;
  });
}

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: string | Buffer;
}

/** A multipart/form-data body written by hand, so each part's headers are exactly what a given client sends. */
export function multipart(parts: Part[], boundary = `----bt${randomUUID().replace(/-/g, "")}`): { body: Buffer; contentType: string } {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += "\r\n";
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    pieces.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data), Buffer.from("\r\n"));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A body like backtracepython 0.4.2 sends: OS thread ids, sourceCode by path with tabWidth 8, Log annotation, a null guid. */
export function pythonBody(overrides: Record<string, unknown> = {}): Record<string, any> {
  const main = "140283071531904";
  return {
    uuid: randomUUID(),
    timestamp: 1700000000,
    lang: "python",
    langVersion: "CPython 3.11.7-final",
    agent: "backtrace-python",
    agentVersion: "0.4.2",
    mainThread: main,
    entryThread: main,
    threads: {
      [main]: {
        name: "MainThread",
        fault: true,
        stack: [
          { funcName: "divide", line: 3, library: "/app/calc.py", sourceCode: "/app/calc.py" },
          { funcName: "<module>", line: 6, library: "/app/calc.py", sourceCode: "/app/calc.py" },
        ],
      },
      "140283050551872": { name: "Worker", fault: false, stack: [{ funcName: "wait", line: 320, library: "/usr/lib/python3.11/threading.py", sourceCode: "/usr/lib/python3.11/threading.py" }] },
    },
    classifiers: ["ZeroDivisionError"],
    attributes: {
      "backtrace.agent": "backtrace-python",
      "backtrace.version": "0.4.2",
      "error.type": "Unhandled exception",
      "error.message": "division by zero",
      application: "MainProcess",
      hostname: "py-host",
      guid: null,
      "process.id": 4242,
      "uname.sysname": "Linux",
    },
    annotations: {
      Exception: { type: "ZeroDivisionError", message: "division by zero", traceback: ["line 3, in divide"] },
      Log: [
        { ts: 1700000000, msg: "loading numbers" },
        { ts: 1700000001, msg: "dividing" },
      ],
    },
    sourceCode: {
      "/app/calc.py": {
        path: "/app/calc.py",
        text: "def divide(a, b):\n\tscale = 1\n\treturn a / b * scale\n\n\nprint(divide(1, 0))\n",
        startLine: 1,
        startColumn: 1,
        tabWidth: 8,
      },
    },
    ...overrides,
  };
}

/** A body like @backtrace/node 0.8.3 sends: thread "main", columns, float attributes, an "error" annotation. */
export function nodeBody(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    uuid: randomUUID(),
    timestamp: 1700000100,
    lang: "nodejs",
    langVersion: "v20.20.2",
    agent: "@backtrace/node",
    agentVersion: "0.8.3",
    mainThread: "main",
    threads: {
      main: {
        name: "main",
        fault: true,
        stack: [
          { funcName: "readConfig", library: "/srv/app/config.js", line: 12, column: 11 },
          { funcName: "start", library: "/srv/app/index.js", line: 4, column: 3 },
          { funcName: "Module._compile", library: "node:internal/modules/cjs/loader", line: 1256, column: 14 },
        ],
      },
    },
    classifiers: ["Error"],
    attributes: {
      "error.type": "Exception",
      "error.message": "config missing",
      application: "node-app",
      hostname: "node-host",
      "cpu.boottime": 1699990000.52,
      "backtrace.agent": "@backtrace/node",
    },
    annotations: { error: { name: "Error", message: "config missing", stack: "Error: config missing\n    at readConfig (/srv/app/config.js:12:11)" } },
    ...overrides,
  };
}

export function submitUrl(base: string, token = "test-token"): string {
  return `${base}/post?format=json&token=${encodeURIComponent(token)}`;
}
