// The crash path's sender thread: one POST through the same transport as every other report, its result handed back through shared memory.
// Bundled at build time into a string (crash-sender-source.ts) that blocking-post.ts starts with `eval: true`.
import { errorText } from "../errors.js";
import { workerData } from "node:worker_threads";
import { jsonBody, type AttachmentRef } from "../payload.js";
import { postReport, type TransportResult } from "./post.js";
import { writeResult } from "./result-channel.js";

/** What the waiting thread hands the sender. */
export interface SenderData {
  shared: SharedArrayBuffer;
  url: string;
  uuid: string;
  json: string;
  attachments: AttachmentRef[];
  ignoreSslCertificate: boolean;
  proxy: string | false | undefined;
  /** PEM text: the worker reads no file the main thread already read. */
  ca: string | undefined;
  timeoutMs: number;
}

const data = workerData as SenderData;
const attachments = data.attachments.map((a): AttachmentRef =>
  a.data === undefined ? a : { name: a.name, data: Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength) },
);
const payload = { uuid: data.uuid, json: jsonBody(data.json), attachments };
// The transport's sockets and deadline never keep a process up; in this thread, this timer must, until the
// result is written (the waiting thread ends the worker at its own deadline anyway).
const alive = setTimeout(() => undefined, data.timeoutMs + 1000);
const done = (result: TransportResult): void => {
  clearTimeout(alive);
  writeResult(data.shared, result);
};
postReport(data.url, payload, { timeoutMs: data.timeoutMs, ignoreSslCertificate: data.ignoreSslCertificate, proxy: data.proxy, ca: data.ca }).then(done, (error: unknown) =>
  done({ kind: "error", reason: errorText(error), timeout: false }),
);
