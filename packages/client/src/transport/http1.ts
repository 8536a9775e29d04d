// A small HTTP/1.1 client for one origin: a pool of keep-alive connections, one exchange at a time on each,
// and a parser for the answers a submission server gives (Content-Length, chunked, or read to the end).
// Node's http client does far more than a report upload needs, and that costs more CPU per request than
// building the report does; this keeps the wire the same: one request, its headers, its body, its answer.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { lazyNet, lazyTls } from "../builtins.js";

export interface PoolOptions {
  /** Connections open at most; requests beyond wait for one, first come first served. */
  maxSockets: number;
  /** Accept any TLS certificate (https only). */
  ignoreSslCertificate: boolean;
  /** An idle connection is closed after this long (default IDLE_CLOSE_MS). */
  idleCloseMs?: number;
}

/** The server's answer: status, headers (names in lower case) and at most `keepBodyBytes` of the body. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Writes the request body; `write` resolves at once or when the connection can take more. */
export type BodyWriter = (write: (chunk: string | Buffer) => Promise<void> | undefined, stopped: () => boolean) => Promise<void>;

export interface ExchangeRequest {
  /** The request line and headers, each line ended by CRLF, without the empty line that ends them. */
  head: string;
  /** The whole body when it is known up front: written with the head in one go. */
  body?: readonly (string | Buffer)[];
  /** Or a writer for bodies streamed from disk. */
  writeBody?: BodyWriter;
  /** Body bytes kept in the answer; the rest is read and thrown away. */
  keepBodyBytes: number;
}

export interface Exchange {
  /** The answer, or a rejection with the socket's error (never both, never twice). */
  readonly answer: Promise<Answer>;
  /** Ends the exchange at once: its connection is closed, the answer rejects with `reason`. */
  destroy(reason: Error): void;
}

/** Answer heads longer than this are refused: no submission server sends one. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Idle connections are closed after this long, before most servers close them under a request. */
export const IDLE_CLOSE_MS = 4000;

type Conn = Socket | TLSSocket;

/**
 * One connection and the exchange it carries, if any. Its listeners are added once, when it opens:
 * an exchange only sets itself as `current`, so a burst of requests adds and removes no listener.
 */
class Link {
  current: Active | undefined;

  constructor(
    readonly conn: Conn,
    onClose: (link: Link) => void,
  ) {
    // Bytes, an end or a timeout while idle: the server closed or broke the connection; it is not reused.
    conn.on("data", (chunk: Buffer) => (this.current ? this.current.data(chunk) : conn.destroy()));
    conn.on("end", () => (this.current ? this.current.ended() : conn.destroy()));
    conn.on("timeout", () => (this.current ? undefined : conn.destroy()));
    // Errors reach the exchange, or end an idle connection through "close"; none may go unheard.
    conn.on("error", (error: Error) => this.current?.fail(error));
    conn.once("close", () => {
      this.current?.closed();
      onClose(this);
    });
  }
}

/** An exchange on its connection: parses the answer and says how it ended, once. */
class Active {
  private readonly parser: AnswerParser;
  /** The whole body went out: only then may the connection carry another request. */
  written = false;

  constructor(
    keepBodyBytes: number,
    private readonly succeed: (answer: Answer, reusable: boolean) => void,
    readonly fail: (error: Error) => void,
  ) {
    this.parser = new AnswerParser(keepBodyBytes);
  }

  data(chunk: Buffer): void {
    let result: ReturnType<AnswerParser["push"]>;
    try {
      result = this.parser.push(chunk);
    } catch (error) {
      return this.fail(error as Error);
    }
    if (result !== undefined) this.succeed(result.answer, result.reusable && this.written);
  }

  ended(): void {
    const answer = this.parser.end();
    if (answer !== undefined) this.succeed(answer, false);
  }

  closed(): void {
    const answer = this.parser.end();
    if (answer !== undefined) this.succeed(answer, false);
    else this.fail(new Error("the connection closed before the answer"));
  }
}

export class ConnectionPool {
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly idle: Link[] = [];
  private readonly links = new Set<Link>();
  private readonly waiting: Array<(link: Link | Error) => void> = [];
  private open = 0;
  private destroyed = false;

  constructor(
    url: string,
    private readonly options: PoolOptions,
  ) {
    const target = new URL(url);
    this.secure = target.protocol === "https:";
    // URL keeps an IPv6 address in brackets; connecting wants it bare.
    this.host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = Number(target.port) || (this.secure ? 443 : 80);
  }

  /** Starts one exchange: on an idle connection, a new one, or the first to come free. */
  exchange(request: ExchangeRequest): Exchange {
    let link: Link | undefined;
    let done = false;
    let fail!: (error: Error) => void;
    const answer = new Promise<Answer>((resolve, reject) => {
      fail = (error) => {
        if (done) return;
        done = true;
        if (link) {
          link.current = undefined;
          link.conn.destroy(); // its "close" frees the slot and wakes a waiting request
        }
        reject(error);
      };
      const succeed = (result: Answer, reusable: boolean): void => {
        if (done) return;
        done = true;
        if (link) {
          link.current = undefined;
          if (reusable) this.release(link);
          else link.conn.destroy();
        }
        resolve(result);
      };
      this.acquire((got) => {
        if (got instanceof Error) return fail(got);
        if (done) return this.release(got); // destroyed while waiting: the connection is still good
        link = got;
        const active = new Active(request.keepBodyBytes, succeed, fail);
        got.current = active;
        if (got.conn.destroyed) return active.closed();
        send(got.conn, active, request);
      });
    });
    return { answer, destroy: (reason) => fail(reason) };
  }

  /** Closes every connection; exchanges in flight end with an error, later ones fail at once. */
  destroy(): void {
    this.destroyed = true;
    this.idle.length = 0;
    for (const link of this.links) {
      link.current?.fail(new Error("connection pool closed"));
      link.conn.destroy();
    }
    for (const wake of this.waiting.splice(0)) wake(new Error("connection pool closed"));
  }

  private acquire(give: (link: Link | Error) => void): void {
    if (this.destroyed) return give(new Error("connection pool closed"));
    // A connection closed while idle stays listed until its "close" event: skip it.
    for (let idle = this.idle.pop(); idle !== undefined; idle = this.idle.pop()) {
      if (idle.conn.destroyed) continue;
      idle.conn.setTimeout(0);
      return give(idle);
    }
    if (this.open < this.options.maxSockets) return give(this.connect());
    this.waiting.push(give);
  }

  private connect(): Link {
    this.open += 1;
    const conn: Conn = this.secure
      ? lazyTls().connect({
          host: this.host,
          port: this.port,
          // A server name is sent for names only; TLS does not allow an IP address there.
          ...(lazyNet().isIP(this.host) === 0 ? { servername: this.host } : {}),
          rejectUnauthorized: !this.options.ignoreSslCertificate,
          ALPNProtocols: ["http/1.1"],
        })
      : lazyNet().connect({ host: this.host, port: this.port });
    // Neither an open connection nor a pending one keeps the process alive.
    conn.unref();
    conn.setNoDelay(true);
    const link = new Link(conn, (closed) => {
      this.open -= 1;
      this.links.delete(closed);
      const at = this.idle.indexOf(closed);
      if (at >= 0) this.idle.splice(at, 1);
      this.wakeOne();
    });
    this.links.add(link);
    return link;
  }

  /** A connection whose exchange ended cleanly: reused by the next waiting request, or kept idle. */
  private release(link: Link): void {
    if (this.destroyed || link.conn.destroyed) return void link.conn.destroy();
    const next = this.waiting.shift();
    if (next !== undefined) return next(link);
    this.idle.push(link);
    // An idle connection ends when the server closes it, says anything, or after the idle time.
    link.conn.setTimeout(this.options.idleCloseMs ?? IDLE_CLOSE_MS);
  }

  private wakeOne(): void {
    if (this.destroyed || this.waiting.length === 0 || this.open >= this.options.maxSockets) return;
    const next = this.waiting.shift()!;
    next(this.connect());
  }
}

/** Writes the request: head and a known body in one go, or the head and then a streamed body. */
function send(conn: Conn, active: Active, request: ExchangeRequest): void {
  // ASCII by construction (the URL's path is percent-encoded, its host punycode): bytes, so that a body
  // of bytes goes out as one vector write with nothing to encode.
  const head = Buffer.from(request.head + "\r\n", "latin1");
  if (request.body !== undefined) {
    conn.cork();
    conn.write(head);
    for (const piece of request.body) conn.write(piece);
    conn.uncork();
    active.written = true;
    return;
  }
  const write = (chunk: string | Buffer): Promise<void> | undefined => {
    if (conn.write(chunk)) return undefined;
    return new Promise<void>((resolve) => {
      const go = (): void => {
        conn.off("drain", go);
        conn.off("close", go);
        resolve();
      };
      conn.on("drain", go);
      conn.on("close", go);
    });
  };
  conn.write(head);
  (request.writeBody ?? (async () => undefined))(write, () => conn.destroyed).then(
    () => {
      active.written = true;
    },
    (error: unknown) => active.fail(error instanceof Error ? error : new Error(String(error))),
  );
}

const enum Stage {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  ToClose,
}

/** Parses one answer from the bytes a connection receives; a 1xx interim answer is skipped. */
export class AnswerParser {
  private stage = Stage.Head;
  private pending: Buffer | undefined; // bytes not yet parsed (head or chunk-size lines)
  private status = 0;
  private headers: Record<string, string> = {};
  private keepAlive = true;
  private left = 0; // body bytes left: of the whole body (Length) or of this chunk (ChunkData)
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;

  constructor(private readonly keepBodyBytes: number) {}

  /** Feeds bytes; returns the answer once it is complete. Throws on a malformed answer. */
  push(chunk: Buffer): { answer: Answer; reusable: boolean } | undefined {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (data.length > 0 || this.stage === Stage.Length) {
      switch (this.stage) {
        case Stage.Head: {
          const end = data.indexOf("\r\n\r\n");
          if (end < 0) {
            if (data.length > MAX_HEAD_BYTES) throw new Error("the answer's head is too long");
            if (data.indexOf("\n\n") >= 0) throw new Error("the answer's head ends its lines without CR");
            this.pending = data;
            return undefined;
          }
          this.parseHead(data.toString("latin1", 0, end)); // an interim (1xx) answer leaves the stage at Head
          data = data.subarray(end + 4);
          continue;
        }
        case Stage.Length:
          data = this.take(data);
          return this.left === 0 ? this.complete(data) : undefined;
        case Stage.ChunkSize:
        case Stage.ChunkEnd:
        case Stage.Trailers: {
          const eol = data.indexOf("\r\n");
          if (eol < 0) {
            if (data.length > MAX_HEAD_BYTES) throw new Error("a chunk line of the answer is too long");
            this.pending = data;
            return undefined;
          }
          const line = data.toString("latin1", 0, eol);
          data = data.subarray(eol + 2);
          if (this.stage === Stage.ChunkEnd) {
            if (line !== "") throw new Error("a chunk of the answer does not end where its size says");
            this.stage = Stage.ChunkSize;
          } else if (this.stage === Stage.Trailers) {
            if (line === "") return this.complete(data);
          } else {
            const digits = line.split(";")[0]!.trim();
            if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) throw new Error("the answer has a malformed chunk size");
            const size = Number.parseInt(digits, 16);
            if (size === 0) this.stage = Stage.Trailers;
            else {
              this.left = size;
              this.stage = Stage.ChunkData;
            }
          }
          continue;
        }
        case Stage.ChunkData:
          data = this.take(data);
          if (this.left === 0) this.stage = Stage.ChunkEnd;
          continue;
        case Stage.ToClose:
          this.keep(data);
          return undefined;
      }
    }
    return undefined;
  }

  /** The connection ended: the answer, when it was one read to the end of the connection. */
  end(): Answer | undefined {
    return this.stage === Stage.ToClose ? this.answer() : undefined;
  }

  /** Takes the status and headers, and sets how the body is delimited; an interim (1xx) answer is skipped. */
  private parseHead(text: string): void {
    const lines = text.split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (statusLine === null) throw new Error("the answer is not HTTP/1.x");
    const status = Number(statusLine[2]);
    if (status >= 100 && status < 200 && status !== 101) return;
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    this.status = status;
    this.headers = headers;
    const connection = (headers["connection"] ?? "").toLowerCase();
    this.keepAlive = statusLine[1] === "1" ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    const encoding = (headers["transfer-encoding"] ?? "").toLowerCase();
    if (status === 204 || status === 304) {
      this.stage = Stage.Length;
      this.left = 0;
    } else if (/\bchunked\b/.test(encoding)) {
      this.stage = Stage.ChunkSize;
    } else if (headers["content-length"] !== undefined) {
      const text = headers["content-length"];
      const length = Number(text);
      if (!/^\d{1,15}$/.test(text)) throw new Error("the answer has a malformed Content-Length");
      this.stage = Stage.Length;
      this.left = length;
    } else {
      this.stage = Stage.ToClose;
      this.keepAlive = false;
    }
  }

  /** Takes up to `left` body bytes off the front of `data`; returns what follows them. */
  private take(data: Buffer): Buffer {
    const count = Math.min(this.left, data.length);
    this.keep(data.subarray(0, count));
    this.left -= count;
    return data.subarray(count);
  }

  private keep(bytes: Buffer): void {
    if (this.keptBytes >= this.keepBodyBytes || bytes.length === 0) return;
    const part = bytes.subarray(0, this.keepBodyBytes - this.keptBytes);
    // A copy: the connection's buffer may be reused once this returns.
    this.kept.push(Buffer.from(part));
    this.keptBytes += part.length;
  }

  private answer(): Answer {
    return { status: this.status, headers: this.headers, body: this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept) };
  }

  /** The answer is complete; bytes after it mean the connection cannot be trusted with another request. */
  private complete(rest: Buffer): { answer: Answer; reusable: boolean } {
    return { answer: this.answer(), reusable: this.keepAlive && rest.length === 0 };
  }
}
