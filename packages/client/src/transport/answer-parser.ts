// Parsing one HTTP/1.x answer from the bytes a connection receives: status, headers, and the body delimited by
// Content-Length, chunked encoding, or the end of the connection.
import { connectionDefaults } from "../defaults.js";

/**
 * The server's answer: status, headers (names in lower case, in a frozen object without prototype, shared by the
 * answers with the same head) and at most `keepBodyBytes` of the body.
 */
export interface Answer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
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

const MAX_HEAD_BYTES = connectionDefaults.maxHeadBytes;

/** A complete answer, whether its connection may carry another request, and how long the server keeps it open idle. */
export interface Parsed {
  answer: Answer;
  reusable: boolean;
  /** The server's `Keep-Alive: timeout=N` in milliseconds, when it gave one. */
  keepAliveMs: number | undefined;
}

/** An object for header names: without prototype, so "__proto__" or "constructor" are names like any other. */
function headerTable(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/**
 * Bytes kept for the next push: copied when they are (a view of) the chunk just given, which the connection may
 * read into again once `push` returns; bytes this parser concatenated are its own already.
 */
function owned(data: Buffer, chunk: Buffer): Buffer {
  return data.buffer === chunk.buffer ? Buffer.from(data) : data;
}

/** The headers of an answer whose head is not read yet. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze(headerTable());

/** The last final answer head read, and what it said (its headers frozen: every answer with this head shares them). */
let lastHead:
  | { text: string; status: number; headers: Readonly<Record<string, string>>; keepAlive: boolean; keepAliveMs: number | undefined; stage: Stage; left: number }
  | undefined;
/** Heads longer than this are read each time (an answer head is usually a few hundred characters). */
const LAST_HEAD_CHARS = 1024;

/** Parses one answer from the bytes a connection receives; a 1xx interim answer is skipped. The chunks given may be reused once `push` returns. */
export class AnswerParser {
  private stage = Stage.Head;
  private pending: Buffer | undefined; // bytes not yet parsed (head or chunk-size lines)
  private status = 0;
  private headers: Readonly<Record<string, string>> = NO_HEADERS;
  private keepAlive = true;
  private keepAliveMs: number | undefined;
  private left = 0; // body bytes left: of the whole body (Length) or of this chunk (ChunkData)
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;

  constructor(private readonly keepBodyBytes: number) {}

  /** Feeds bytes; returns the answer once it is complete. Throws on a malformed answer. */
  push(chunk: Buffer): Parsed | undefined {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    while (data.length > 0 || this.stage === Stage.Length) {
      switch (this.stage) {
        case Stage.Head: {
          const end = data.indexOf("\r\n\r\n");
          // A head may come whole in one read: its length is checked wherever its end is found.
          if (end > MAX_HEAD_BYTES) throw new Error("the answer's head is too long");
          if (end < 0) {
            if (data.length > MAX_HEAD_BYTES) throw new Error("the answer's head is too long");
            if (data.indexOf("\n\n") >= 0) throw new Error("the answer's head ends its lines without CR");
            this.pending = owned(data, chunk);
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
            this.pending = owned(data, chunk);
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

  /** True once the head is read and the body is being read: the body's timeout applies from then on. */
  inBody(): boolean {
    return this.stage !== Stage.Head;
  }

  /** The connection ended: the answer, when it was one read to the end of the connection. */
  end(): Answer | undefined {
    return this.stage === Stage.ToClose ? this.answer() : undefined;
  }

  /**
   * Takes the status and headers, and sets how the body is delimited; an interim (1xx) answer is skipped. A server
   * answers a burst with the same head again and again: the head read last is not read again (its headers shared).
   */
  private parseHead(text: string): void {
    const last = lastHead;
    if (last !== undefined && last.text === text) {
      this.status = last.status;
      this.headers = last.headers;
      this.keepAlive = last.keepAlive;
      this.keepAliveMs = last.keepAliveMs;
      this.stage = last.stage;
      this.left = last.left;
      return;
    }
    this.readHead(text);
    if (this.stage === Stage.Head) return; // an interim answer, skipped
    Object.freeze(this.headers);
    this.keepAliveMs = keepAliveHint(this.headers["keep-alive"]);
    // Only a short head is kept for the next answer.
    if (text.length <= LAST_HEAD_CHARS) {
      const { status, headers, keepAlive, keepAliveMs, stage, left } = this;
      lastHead = { text, status, headers, keepAlive, keepAliveMs, stage, left };
    }
  }

  private readHead(text: string): void {
    const lines = text.split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (statusLine === null) throw new Error("the answer is not HTTP/1.x");
    const status = Number(statusLine[2]);
    if (status >= 100 && status < 200 && status !== 101) return;
    const headers = headerTable();
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
  private complete(rest: Buffer): Parsed {
    return { answer: this.answer(), reusable: this.keepAlive && rest.length === 0, keepAliveMs: this.keepAliveMs };
  }
}

/** `Keep-Alive: timeout=5, max=100` to 5000; undefined without a usable timeout. */
export function keepAliveHint(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = /(?:^|[,;\s])timeout\s*=\s*"?(\d{1,9})"?/i.exec(value);
  return seconds === null ? undefined : Number(seconds[1]) * 1000;
}
