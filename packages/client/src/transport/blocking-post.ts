// Delivering one payload while the calling thread is blocked: a worker thread POSTs, this thread sleeps on shared memory.
import type { Worker } from "node:worker_threads";
import { lazyWorkers } from "../builtins.js";
import { AGENT, VERSION } from "../version.js";
import { jsonText } from "../payload.js";
import type { TransportResult } from "./post.js";
import type { Payload } from "../payload.js";

/** Bytes of the answer body (or of the failure reason) handed back from the worker. */
const TEXT_BYTES = 4096;
// Layout of the shared memory: four Int32 slots, then TEXT_BYTES of UTF-8 text.
const STATE = 0; // 0 while pending, 1 when an answer came, 2 when the request failed
const STATUS = 1; // the HTTP status
const TEXT_LENGTH = 2;
const TIMED_OUT = 3; // 1 when the worker gave up at its own deadline
const HEADER_BYTES = 16;

/**
 * The worker's code, kept as plain JavaScript in a string and started with `eval: true`.
 *
 * Why a string: the library is compiled twice (ESM and CommonJS) and may be bundled into an
 * application, so there is no file path to a separate worker script that holds in every case
 * (`import.meta.url` does not exist in the CommonJS build, `__dirname` not in the ESM one, and
 * a bundle has neither file). A string travels with the code that uses it. It cannot import
 * transport.ts for the same reason, so it repeats the small part of it needed here: one POST,
 * JSON or multipart (`upload_file` + `attachment_<name>`), TLS verified unless told otherwise,
 * and a deadline. It only uses `require` of Node built-ins, which eval'd workers have.
 */
const SENDER_SOURCE = String.raw`"use strict";
const { workerData } = require("node:worker_threads");
const http = require("node:http");
const https = require("node:https");
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const data = workerData;
const head = new Int32Array(data.shared, 0, 4);
const text = new Uint8Array(data.shared, ${HEADER_BYTES});
let request;
let settled = false;
function finish(state, status, message, timedOut) {
  if (settled) return;
  settled = true;
  clearTimeout(timer);
  const bytes = Buffer.from(String(message), "utf8").subarray(0, text.length);
  text.set(bytes);
  head[${STATUS}] = status;
  head[${TEXT_LENGTH}] = bytes.length;
  head[${TIMED_OUT}] = timedOut ? 1 : 0;
  Atomics.store(head, ${STATE}, state);
  Atomics.notify(head, ${STATE});
  if (request) request.destroy();
}
const timer = setTimeout(() => finish(2, 0, "timed out after " + data.timeoutMs + " ms", true), data.timeoutMs);
function quote(value) {
  return value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function part(boundary, name, filename, type) {
  return Buffer.from("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + quote(name) +
    "\"; filename=\"" + quote(filename) + "\"\r\nContent-Type: " + type + "\r\n\r\n");
}
try {
  const target = new URL(data.url);
  if (target.protocol !== "http:" && target.protocol !== "https:") throw new Error("unsupported protocol " + target.protocol);
  const json = Buffer.from(data.json, "utf8");
  const headers = { Accept: "application/json", "User-Agent": data.userAgent };
  const files = [];
  const seen = new Set();
  for (const ref of data.attachments) {
    const name = path.basename(ref.name || ref.path);
    if (seen.has(name)) continue;
    try {
      if (!fs.statSync(ref.path).isFile()) continue;
      files.push({ name, bytes: fs.readFileSync(ref.path) });
      seen.add(name);
    } catch {
      // An attachment that cannot be read is left out, as the background transport does.
    }
  }
  let body;
  if (files.length === 0) {
    headers["Content-Type"] = "application/json";
    body = json;
  } else {
    const boundary = "----backtrace-ts-" + crypto.randomBytes(12).toString("hex");
    headers["Content-Type"] = "multipart/form-data; boundary=" + boundary;
    const pieces = [part(boundary, "upload_file", "upload_file.json", "application/json"), json];
    for (const file of files) {
      pieces.push(Buffer.from("\r\n"), part(boundary, "attachment_" + file.name, file.name, "application/octet-stream"), file.bytes);
    }
    pieces.push(Buffer.from("\r\n--" + boundary + "--\r\n"));
    body = Buffer.concat(pieces);
  }
  headers["Content-Length"] = String(body.length);
  const options = { method: "POST", headers };
  if (target.protocol === "https:") options.rejectUnauthorized = !data.ignoreSslCertificate;
  request = (target.protocol === "https:" ? https : http).request(target, options, (res) => {
    const chunks = [];
    let kept = 0;
    res.on("data", (chunk) => {
      if (kept < text.length) { chunks.push(chunk); kept += chunk.length; }
    });
    res.on("end", () => finish(1, res.statusCode || 0, Buffer.concat(chunks).toString("utf8"), false));
    res.on("error", (error) => finish(1, res.statusCode || 0, "", false));
  });
  request.on("error", (error) => finish(2, 0, error.code ? error.code + ": " + error.message : error.message, false));
  request.end(body);
} catch (error) {
  finish(2, 0, error && error.message ? error.message : String(error), false);
}
`;

export interface BlockingPostOptions {
  /** Longest the calling thread is blocked, worker start-up included. */
  timeoutMs: number;
  ignoreSslCertificate: boolean;
  /** Clock; defaulted so tests need no mocking. */
  now?: () => number;
}

/**
 * POSTs one payload and returns only when the answer came or `timeoutMs` passed, blocking the
 * calling thread meanwhile (Atomics.wait). Never throws. For the crash path only: the event loop
 * of the calling thread does not run while it waits.
 */
export function postReportBlocking(url: string, payload: Payload, options: BlockingPostOptions): TransportResult {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const shared = new SharedArrayBuffer(HEADER_BYTES + TEXT_BYTES);
  const head = new Int32Array(shared, 0, 4);
  let worker: Worker;
  try {
    worker = new (lazyWorkers().Worker)(SENDER_SOURCE, {
      eval: true,
      name: "backtrace-ts crash sender",
      workerData: {
        shared,
        url,
        json: jsonText(payload.json),
        attachments: payload.attachments.map((a) => ({ name: a.name, path: a.path })),
        userAgent: `${AGENT}/${VERSION}`,
        ignoreSslCertificate: options.ignoreSslCertificate,
        timeoutMs: Math.max(1, Math.floor(options.timeoutMs)),
      },
      // Command-line preloads (--require, --import) are not run again in the sender.
      execArgv: [],
      // Whatever the worker might print (a preload's output, a warning) stays out of the process's own stdout and stderr.
      stdout: true,
      stderr: true,
    });
  } catch (error) {
    return { kind: "error", reason: `could not start the sender thread: ${(error as Error)?.message ?? String(error)}`, timeout: false };
  }
  // The worker must never keep the process alive, and an error in it must not become an 'error' event nobody listens to.
  worker.unref();
  worker.on("error", () => undefined);

  for (;;) {
    const left = deadline - now();
    if (left <= 0 || Atomics.load(head, STATE) !== 0) break;
    Atomics.wait(head, STATE, 0, left);
  }
  const state = Atomics.load(head, STATE);
  worker.terminate().catch(() => undefined);

  if (state === 0) return { kind: "error", reason: `no answer within ${options.timeoutMs} ms`, timeout: true };
  const length = Math.min(Math.max(0, head[TEXT_LENGTH] ?? 0), TEXT_BYTES);
  // Copied out first: a TextDecoder does not read shared memory.
  const text = Buffer.from(new Uint8Array(shared, HEADER_BYTES, length)).toString("utf8");
  if (state === 2) return { kind: "error", reason: text, timeout: head[TIMED_OUT] === 1 };
  const status = head[STATUS] ?? 0;
  const result: TransportResult = { kind: "response", status, body: text };
  const rxid = status >= 200 && status < 300 ? readRxid(text) : undefined;
  if (rxid !== undefined) result.rxid = rxid;
  return result;
}

function readRxid(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const rxid = (parsed as Record<string, unknown>)["_rxid"];
    return typeof rxid === "string" ? rxid : undefined;
  } catch {
    return undefined;
  }
}
