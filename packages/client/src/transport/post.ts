// One HTTP(S) POST of a payload: JSON or multipart, a deadline on the whole request, TLS verified by default.
import { errorText } from "../errors.js";
import type { FileHandle } from "node:fs/promises";
import { lazyFsPromises } from "../builtins.js";
import { ConnectionPool, type Answer, type Exchange, type ExchangeRequest } from "./http1.js";
import { ProxyRefusal, proxyFor } from "./proxy.js";
import type { Cancellation } from "./cancellation.js";
import { basename } from "node:path";
import { randomHex } from "../builtins.js";
import { AGENT, VERSION } from "../version.js";
import { duplicateQuery, type AttachmentRef, type Payload } from "../payload.js";

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
      /** Where a 3xx points. */
      location?: string;
      /** The answer's body, cut at RESPONSE_BODY_CAP bytes. */
      body: string;
      skipped?: SkippedAttachment[];
    }
  | { kind: "error"; reason: string; timeout: boolean; skipped?: SkippedAttachment[] };

/** How connections reach the endpoint: certificate checks, trusted CAs, the proxy. */
export interface NetworkOptions {
  ignoreSslCertificate: boolean;
  /** A proxy URL, false for none whatever the environment says, undefined to follow the environment. */
  proxy?: string | false | undefined;
  /** PEM certificates trusted besides Node's own. */
  ca?: string | undefined;
}

export interface PostOptions extends NetworkOptions {
  /** Deadline for the whole request: connect, send and answer. */
  timeoutMs: number;
  /** Connections to reuse; without it the request has a connection of its own, closed after it. */
  pool?: ConnectionPool;
  /** Ends the request at once when cancelled. */
  cancel?: Cancellation;
}

const CRLF = Buffer.from("\r\n");

/** Longest answer body kept; the rest is read and thrown away so the connection can be reused. */
export const RESPONSE_BODY_CAP = 64 * 1024;
const READ_CHUNK = 64 * 1024;

/** Keep-alive connections to the submission URL's origin, at most `maxSockets` of them, through the proxy that applies. */
export function createPool(url: string, options: NetworkOptions & { maxSockets: number }): ConnectionPool {
  return new ConnectionPool(url, {
    maxSockets: options.maxSockets,
    ignoreSslCertificate: options.ignoreSslCertificate,
    proxy: proxyFor(url, options.proxy),
    ca: options.ca,
  });
}

interface OpenAttachment {
  name: string;
  handle: FileHandle;
  size: number;
}

/** An attachment ready to be written: an open file, or bytes in memory. */
type ReadyAttachment = OpenAttachment | { name: string; data: Buffer };

/**
 * The attachments when every one is bytes in memory (the breadcrumbs, data the application gave): ready at once,
 * the later ones of a name skipped as openAttachments skips them. Undefined when one is a file to open.
 */
function inMemoryAttachments(refs: AttachmentRef[], skipped: SkippedAttachment[]): ReadyAttachment[] | undefined {
  for (const ref of refs) if (ref.data === undefined) return undefined;
  const ready: ReadyAttachment[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const name = basename(ref.name || "attachment");
    if (seen.has(name)) skipped.push({ name, reason: "duplicate name" });
    else {
      seen.add(name);
      ready.push({ name, data: ref.data! });
    }
  }
  return ready;
}

/** Opens every attachment up front so the body length is known; unreadable ones and duplicate names are skipped. */
async function openAttachments(refs: AttachmentRef[], skipped: SkippedAttachment[]): Promise<ReadyAttachment[]> {
  const opened: ReadyAttachment[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const name = basename(ref.name || (ref.path ?? "attachment"));
    if (seen.has(name)) {
      skipped.push({ name, reason: "duplicate name" });
      continue;
    }
    if (ref.data !== undefined) {
      opened.push({ name, data: ref.data });
      seen.add(name);
      continue;
    }
    let handle: FileHandle | undefined;
    try {
      const fs = lazyFsPromises();
      // O_NONBLOCK: opening a FIFO without a writer (or a tty, a device) would hold a libuv thread for good, and
      // with four of them stuck the application's own fs, dns and crypto calls never complete. The type is then
      // checked on the opened descriptor, so a swap between a check and the open changes nothing.
      handle = await fs.open(ref.path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0));
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error("not a regular file");
      opened.push({ name, handle, size: stat.size });
      seen.add(name);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      skipped.push({ name, reason: errorText(error) });
    }
  }
  return opened;
}

/** Quotes a value for a Content-Disposition parameter the way HTML forms do. */
function quoteParam(value: string): string {
  return value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** The random part of this process's multipart boundaries, drawn at its first multipart request. */
let boundaryRoot: string | undefined;
let boundaryCount = 0;

/**
 * A multipart boundary: 96 random bits drawn once per process, then a count. Nothing a report holds can repeat it
 * (no report carries one), and a request does not pay for reading random bytes (about 8 µs each time, measured).
 */
function nextBoundary(): string {
  boundaryRoot ??= `----backtrace-ts-${randomHex(12)}`;
  boundaryCount += 1;
  return `${boundaryRoot}-${boundaryCount.toString(36)}`;
}

function partHeader(boundary: string, name: string, filename: string, type: string): Buffer {
  return Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(name)}"; filename="${quoteParam(filename)}"\r\n` +
      `Content-Type: ${type}\r\n\r\n`,
  );
}


/**
 * The request line and headers every report request starts with. Through a proxy to an http endpoint the
 * request names the whole URL (never its user and password) and carries the proxy's credentials.
 */
function requestHead(target: URL, search: string, contentType: string, length: number, forwarding: { authorization: string } | undefined): string {
  const path = `${target.pathname}${search}`;
  return (
    `POST ${forwarding ? target.origin + path : path} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: application/json\r\n` +
    `User-Agent: ${AGENT}/${VERSION}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\nConnection: keep-alive\r\n` +
    basicAuth(target) +
    (forwarding?.authorization ?? "")
  );
}

/** A percent-encoded URL part as text; as it is when its escapes are malformed. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** User and password written in the URL (a proxy or a server behind basic auth) go as Basic credentials. */
function basicAuth(target: URL): string {
  if (target.username === "" && target.password === "") return "";
  const credentials = `${decoded(target.username)}:${decoded(target.password)}`;
  return `Authorization: Basic ${Buffer.from(credentials, "utf8").toString("base64")}\r\n`;
}

/** The submission URL last parsed, never changed (every request of a client posts to the same one). */
let lastTarget: { url: string; target: URL } | undefined;

function parseTarget(url: string): URL {
  if (lastTarget?.url === url) return lastTarget.target;
  const target = new URL(url);
  lastTarget = { url, target };
  return target;
}

/**
 * POSTs one payload and resolves to what happened; never rejects. JSON body without attachments,
 * multipart (`upload_file` + `attachment_<name>`, files streamed from disk) with them.
 */
export function postReport(url: string, payload: Payload, options: PostOptions): Promise<TransportResult> {
  return new Promise<TransportResult>((resolve) => {
    const skipped: SkippedAttachment[] = [];
    let files: ReadyAttachment[] = [];
    let exchange: Exchange | undefined;
    let settled = false;
    let pool: ConnectionPool | undefined = options.pool;

    // Methods, not arrows under names: the build gives every function bound to a name its name when it is made
    // (a defineProperty per closure), and these are made for every request.
    const on = {
      finish(result: TransportResult): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.cancel?.delete(on.cancel);
        if (result.kind === "error") exchange?.destroy(new Error(result.reason));
        if (pool !== options.pool) pool?.destroy();
        for (const file of files) if ("handle" in file) file.handle.close().catch(() => undefined);
        resolve(skipped.length > 0 ? { ...result, skipped } : result);
      },
      fail(reason: string, timeout = false): void {
        on.finish({ kind: "error", reason, timeout });
      },
      cancel(): void {
        on.fail("aborted");
      },
      send(request: ExchangeRequest): void {
        exchange = connections.exchange(request);
        exchange.answer.then(
          (answer) => on.finish(responseResult(answer)),
          // A proxy refusing the tunnel's credentials is as final as a server's 401: it becomes a 407 answer. Only
          // the proxy answers CONNECT, so a 401 there is about its credentials too (tinyproxy answers wrong ones so).
          (error: unknown) =>
            error instanceof ProxyRefusal && (error.status === 407 || error.status === 401)
              ? on.finish({ kind: "response", status: 407, body: "" })
              : on.fail(errorText(error)),
        );
      },
    };
    const { fail, send } = on;

    // Neither the deadline nor the connection keeps the process alive: an application that is done may end,
    // and the client's exit flush decides how long to wait for reports still on their way.
    const timer = setTimeout(() => on.fail(`timed out after ${options.timeoutMs} ms`, true), options.timeoutMs);
    timer.unref();
    options.cancel?.add(on.cancel);

    let target: URL;
    try {
      target = parseTarget(url);
    } catch {
      return fail("invalid submission URL");
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") return fail(`unsupported protocol ${target.protocol}`);
    // Appended as text: setting it through searchParams would re-encode the rest of the query (the token's form).
    const duplicates = duplicateQuery(payload);
    const search = duplicates === "" ? target.search : target.search.length > 1 ? `${target.search}&${duplicates}` : `?${duplicates}`;
    const connections = (pool ??= createPool(url, { ...options, maxSockets: 1 }));
    const forwarding = connections.forwarding();

    // The body's pieces are written as they are, with the head: strings and shared bytes, never joined.
    const jsonRequest = (): ExchangeRequest => ({
      head: requestHead(target, search, "application/json", payload.json.bytes, forwarding),
      body: payload.json.pieces,
      keepBodyBytes: RESPONSE_BODY_CAP,
    });
    if (payload.attachments.length === 0) return send(jsonRequest());
    /** The multipart request: with attachments all in memory its body is known now, and goes with the head in one write. */
    const multipart = (ready: ReadyAttachment[]): void => {
      if (ready.length === 0) return send(jsonRequest());
      const boundary = nextBoundary();
      const pieces: Array<Buffer | OpenAttachment | string> = [partHeader(boundary, "upload_file", "upload_file.json", "application/json"), ...payload.json.pieces];
      let inMemory = true;
      for (const file of ready) {
        pieces.push(CRLF, partHeader(boundary, `attachment_${file.name}`, file.name, "application/octet-stream"), "data" in file ? file.data : file);
        if (!("data" in file)) inMemory = false;
      }
      pieces.push(Buffer.from(`\r\n--${boundary}--\r\n`));
      let length = 0;
      for (const piece of pieces) length += typeof piece === "string" ? Buffer.byteLength(piece) : Buffer.isBuffer(piece) ? piece.length : piece.size;
      const head = requestHead(target, search, `multipart/form-data; boundary=${boundary}`, length, forwarding);
      if (inMemory) return send({ head, body: pieces as Array<Buffer | string>, keepBodyBytes: RESPONSE_BODY_CAP });
      send({ head, writeBody: (write, stopped) => writeBody(pieces, write, () => settled || stopped()), keepBodyBytes: RESPONSE_BODY_CAP });
    };
    const ready = inMemoryAttachments(payload.attachments, skipped);
    if (ready !== undefined) return multipart(ready);
    const withFiles = async (): Promise<void> => {
      const opened = await openAttachments(payload.attachments, skipped);
      if (settled) {
        // The deadline or a cancel came while the files were being opened.
        for (const file of opened) if ("handle" in file) file.handle.close().catch(() => undefined);
        return;
      }
      files = opened;
      multipart(files);
    };
    withFiles().catch((error: unknown) => fail(errorText(error)));
  });
}

/** A whole answer of the usual shape, with an rxid free of escapes. */
const PLAIN_RXID = /^\{"response":"ok","_rxid":"([^"\\]*)"\}$/;

function responseResult(answer: Answer): TransportResult {
  const { status } = answer;
  const body = answer.body.toString("utf8");
  const result: TransportResult = { kind: "response", status, body };
  const retryAfter = answer.headers["retry-after"];
  if (retryAfter !== undefined) result.retryAfter = retryAfter;
  const location = answer.headers["location"];
  if (status >= 300 && status < 400 && location !== undefined) result.location = location;
  if (status >= 200 && status < 300) {
    // The usual answer, {"response":"ok","_rxid":"..."}, read without parsing it all; anything else is parsed.
    const plain = PLAIN_RXID.exec(body);
    if (plain !== null) {
      result.rxid = plain[1]!;
      return result;
    }
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
async function writeBody(
  pieces: Array<Buffer | OpenAttachment | string>,
  write: (chunk: Buffer | string) => Promise<void> | undefined,
  stopped: () => boolean,
): Promise<void> {
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
