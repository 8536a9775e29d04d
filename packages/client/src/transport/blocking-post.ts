// Delivering one payload while the calling thread is blocked: a worker thread POSTs, this thread sleeps on shared memory.
import { errorText } from "../errors.js";
import type { Worker } from "node:worker_threads";
import { lazyWorkers } from "../builtins.js";
import { jsonText, type Payload } from "../payload.js";
import { CRASH_SENDER_SOURCE } from "./crash-sender-source.js";
import type { SenderData } from "./crash-sender.js";
import type { NetworkOptions, TransportResult } from "./post.js";
import { createChannel, waitForResult } from "./result-channel.js";

export interface BlockingPostOptions extends NetworkOptions {
  /** Longest the calling thread is blocked, worker start-up included. */
  timeoutMs: number;
  /** Clock; defaulted so tests need no mocking. */
  now?: () => number;
}

/**
 * POSTs one payload and returns only when the answer came or `timeoutMs` passed, blocking the
 * calling thread meanwhile (Atomics.wait). Never throws. For the crash path only: the event loop
 * of the calling thread does not run while it waits.
 *
 * The worker runs the same transport as every other report (crash-sender.ts, bundled into a string at
 * build time): the library ships as two bundles and may be bundled again into an application, so there
 * is no file path to a worker script that holds in every case, while a string travels with the code.
 */
export function postReportBlocking(url: string, payload: Payload, options: BlockingPostOptions): TransportResult {
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  const shared = createChannel();
  const workerData: SenderData = {
    shared,
    url,
    uuid: payload.uuid,
    json: jsonText(payload.json),
    // Buffers arrive in the worker as plain Uint8Arrays (structured clone); crash-sender.ts makes them Buffers again.
    attachments: payload.attachments.map((a) => (a.data === undefined ? { name: a.name, path: a.path } : { name: a.name, data: a.data })),
    ignoreSslCertificate: options.ignoreSslCertificate,
    // The sender reads the same environment (a worker starts with a copy of it); the option wins over it there too.
    proxy: options.proxy,
    ca: options.ca,
    timeoutMs: Math.max(1, Math.floor(options.timeoutMs)),
  };
  let worker: Worker;
  try {
    worker = new (lazyWorkers().Worker)(CRASH_SENDER_SOURCE, {
      eval: true,
      name: "backtrace-ts crash sender",
      workerData,
      // Command-line preloads (--require, --import) are not run again in the sender.
      execArgv: [],
      // Whatever the worker might print (a preload's output, a warning) stays out of the process's own stdout and stderr.
      stdout: true,
      stderr: true,
    });
  } catch (error) {
    return { kind: "error", reason: `could not start the sender thread: ${errorText(error)}`, timeout: false };
  }
  // The worker must never keep the process alive, and an error in it must not become an 'error' event nobody listens to.
  worker.unref();
  worker.on("error", () => undefined);
  const result = waitForResult(shared, deadline, now);
  worker.terminate().catch(() => undefined);
  return result ?? { kind: "error", reason: `no answer within ${options.timeoutMs} ms`, timeout: true };
}
