// One HTTP(S) POST of a payload: JSON or multipart, a deadline on the whole request, TLS verified by default.
import type http from "node:http";
import type https from "node:https";
import type { FileHandle } from "node:fs/promises";
import { lazyFsPromises, lazyHttp, lazyHttps } from "./builtins.js";
import { basename } from "node:path";
import { randomBytes } from "node:crypto";
import { AGENT, VERSION } from "./version.js";
import type { JsonBody } from "./json-body.js";

/** A file to send with a report, as a multipart part `attachment_<name>`. */
export interface AttachmentRef {
  name: string;
  path: string;
}

/** What delivery, transport and spool move around: one serialized report and its attachments. */
export interface Payload {
  uuid: string;
  /** The serialized report body. */
  json: JsonBody;
  /** Sent as multipart when non-empty. */
  attachments: AttachmentRef[];
}

/** An attachment left out of the request, with why. */
export interface SkippedAttachment {
  name: string;
  reason: string;
}

export type TransportResult =
  | {
      kind: "response";
      status: number;
      /** The server's receive id, from a 2xx JSON answer. */
      rxid?: string;
      retryAfter?: string;
      /** The answer's body, cut at RESPONSE_BODY_CAP bytes. */
      body: string;
      skipped?: SkippedAttachment[];
    }
  | { kind: "error"; reason: string; timeout: boolean; skipped?: SkippedAttachment[] };

export interface PostOptions {
  /** Deadline for the whole request: connect, send and answer. */
  timeoutMs: number;
  ignoreSslCertificate: boolean;
  agent?: http.Agent | https.Agent;
  signal?: AbortSignal;
}

/** Longest answer body kept; the rest is read and thrown away so the socket can be reused. */
export const RESPONSE_BODY_CAP = 64 * 1024;
const READ_CHUNK = 64 * 1024;

/** A keep-alive agent for the submission URL's scheme, holding at most `maxSockets` connections. */
export function createAgent(
  url: string,
  options: { maxSockets: number; ignoreSslCertificate: boolean },
): http.Agent | https.Agent {
  const common = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets, scheduling: "fifo" as const };
  if (/^https:/i.test(url)) return new (lazyHttps().Agent)({ ...common, rejectUnauthorized: !options.ignoreSslCertificate });
  return new (lazyHttp().Agent)(common);
}

interface OpenAttachment {
  name: string;
  handle: FileHandle;
  size: number;
}

/** Opens every attachment up front so the body length is known; unreadable ones and duplicate names are skipped. */
async function openAttachments(refs: AttachmentRef[], skipped: SkippedAttachment[]): Promise<OpenAttachment[]> {
  const opened: OpenAttachment[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const name = basename(ref.name || ref.path);
    if (seen.has(name)) {
      skipped.push({ name, reason: "duplicate name" });
      continue;
    }
    let handle: FileHandle | undefined;
    try {
      handle = await lazyFsPromises().open(ref.path, "r");
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error("not a regular file");
      opened.push({ name, handle, size: stat.size });
      seen.add(name);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      skipped.push({ name, reason: describeError(error) });
    }
  }
  return opened;
}

/** Quotes a value for a Content-Disposition parameter the way HTML forms do. */
function quoteParam(value: string): string {
  return value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function partHeader(boundary: string, name: string, filename: string, type: string): Buffer {
  return Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(name)}"; filename="${quoteParam(filename)}"\r\n` +
      `Content-Type: ${type}\r\n\r\n`,
  );
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * POSTs one payload and resolves to what happened; never rejects. JSON body without attachments,
 * multipart (`upload_file` + `attachment_<name>`, files streamed from disk) with them.
 */
export function postReport(url: string, payload: Payload, options: PostOptions): Promise<TransportResult> {
  return new Promise<TransportResult>((resolve) => {
    const skipped: SkippedAttachment[] = [];
    let files: OpenAttachment[] = [];
    let request: http.ClientRequest | undefined;
    let settled = false;
    let responded = false;

    const finish = (result: TransportResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (result.kind === "error") request?.destroy();
      for (const file of files) file.handle.close().catch(() => undefined);
      resolve(skipped.length > 0 ? { ...result, skipped } : result);
    };
    const fail = (reason: string, timeout = false): void => finish({ kind: "error", reason, timeout });
    const onAbort = (): void => fail("aborted");

    // Neither the deadline nor the socket keeps the process alive: an application that is done may end,
    // and the client's exit flush decides how long to wait for reports still on their way.
    const timer = setTimeout(() => fail(`timed out after ${options.timeoutMs} ms`, true), options.timeoutMs);
    timer.unref();
    if (options.signal?.aborted) return fail("aborted");
    options.signal?.addEventListener("abort", onAbort, { once: true });

    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return fail("invalid submission URL");
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") return fail(`unsupported protocol ${target.protocol}`);

    const start = async (): Promise<void> => {
      files = await openAttachments(payload.attachments, skipped);
      if (settled) return;
      const headers: Record<string, string> = { Accept: "application/json", "User-Agent": `${AGENT}/${VERSION}` };
      // The body's pieces are written as they are: strings and shared bytes, never copied into one buffer.
      let pieces: Array<Buffer | OpenAttachment | string>;
      let length = payload.json.bytes;
      if (files.length === 0) {
        headers["Content-Type"] = "application/json";
        pieces = [...payload.json.pieces];
      } else {
        const boundary = `----backtrace-ts-${randomBytes(12).toString("hex")}`;
        headers["Content-Type"] = `multipart/form-data; boundary=${boundary}`;
        const framing: Array<Buffer | OpenAttachment> = [];
        for (const file of files) {
          framing.push(Buffer.from("\r\n"), partHeader(boundary, `attachment_${file.name}`, file.name, "application/octet-stream"), file);
        }
        framing.push(Buffer.from(`\r\n--${boundary}--\r\n`));
        const first = partHeader(boundary, "upload_file", "upload_file.json", "application/json");
        pieces = [first, ...payload.json.pieces, ...framing];
        length += first.length;
        for (const piece of framing) length += Buffer.isBuffer(piece) ? piece.length : piece.size;
      }
      headers["Content-Length"] = String(length);

      const requestOptions: https.RequestOptions = { method: "POST", headers };
      if (options.agent) requestOptions.agent = options.agent;
      if (target.protocol === "https:") requestOptions.rejectUnauthorized = !options.ignoreSslCertificate;
      const req = (target.protocol === "https:" ? lazyHttps() : lazyHttp()).request(target, requestOptions);
      request = req;
      req.on("socket", (socket) => socket.unref());
      req.on("error", (error) => {
        if (!responded) fail(describeError(error));
      });
      req.on("response", (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < RESPONSE_BODY_CAP) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        const done = (): void => finish(responseResult(res, Buffer.concat(chunks).subarray(0, RESPONSE_BODY_CAP).toString("utf8")));
        res.on("end", done);
        res.on("error", done);
        res.on("close", done);
      });
      await writeBody(req, pieces, () => settled || req.destroyed);
      if (!settled && !req.destroyed) req.end();
    };
    start().catch((error: unknown) => fail(describeError(error)));
  });
}

function responseResult(res: http.IncomingMessage, body: string): TransportResult {
  const status = res.statusCode ?? 0;
  const result: TransportResult = { kind: "response", status, body };
  const retryAfter = res.headers["retry-after"];
  if (typeof retryAfter === "string") result.retryAfter = retryAfter;
  if (status >= 200 && status < 300) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed === "object" && parsed !== null) {
        const rxid = (parsed as Record<string, unknown>)["_rxid"];
        if (typeof rxid === "string") result.rxid = rxid;
      }
    } catch {
      // An answer that is not JSON still means accepted; there is just no rxid.
    }
  }
  return result;
}

/** Writes each piece in order with backpressure; a file is sent at exactly the size announced. */
async function writeBody(req: http.ClientRequest, pieces: Array<Buffer | OpenAttachment | string>, stopped: () => boolean): Promise<void> {
  const write = (chunk: Buffer | string): Promise<void> | undefined => {
    if (req.write(chunk)) return undefined;
    return new Promise<void>((resolve) => {
      const go = (): void => {
        req.off("drain", go);
        req.off("close", go);
        resolve();
      };
      req.on("drain", go);
      req.on("close", go);
    });
  };
  for (const piece of pieces) {
    if (stopped()) return;
    if (typeof piece === "string" || Buffer.isBuffer(piece)) {
      await write(piece);
      continue;
    }
    let left = piece.size;
    while (left > 0 && !stopped()) {
      const buffer = Buffer.alloc(Math.min(READ_CHUNK, left));
      const { bytesRead } = await piece.handle.read(buffer, 0, buffer.length, piece.size - left);
      // A file that shrank while being sent is padded with zeros so the announced length still holds.
      const chunk = bytesRead === 0 ? buffer : buffer.subarray(0, bytesRead);
      left -= chunk.length;
      await write(chunk);
    }
  }
}
