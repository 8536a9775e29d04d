// A small HTTP/1.1 client for one origin: a pool of keep-alive connections, one exchange at a time on each.
// Node's http client does far more than a report upload needs, and that costs more CPU per request than
// building the report does; this keeps the wire the same: one request, its headers, its body, its answer.
import type { Socket } from "node:net";
import type { SecureContext, TLSSocket } from "node:tls";
import { lazyNet, lazyTls } from "../builtins.js";
import { connectionDefaults } from "../defaults.js";
import { Active, type ConnectionLimits, type Ends } from "./active-exchange.js";
import type { Answer, Parsed } from "./answer-parser.js";
import { dialProxy, openTunnel, type ProxyRoute } from "./proxy.js";
import { trustedContext } from "./trust.js";

export type { Answer } from "./answer-parser.js";

export type { ConnectionLimits } from "./active-exchange.js";

export interface PoolOptions {
  /** Connections open at most; requests beyond wait for one, first come first served. */
  maxSockets: number;
  /** Accept any TLS certificate (https only). */
  ignoreSslCertificate: boolean;
  /** Overrides of `connectionDefaults` (tests use short ones). */
  limits?: Partial<ConnectionLimits> | undefined;
  /** The forward proxy to go through (proxy.ts), or why there is no usable one: every exchange then fails with it. */
  proxy?: ProxyRoute | Error | undefined;
  /** PEM certificates trusted besides Node's own. */
  ca?: string | undefined;
}

/** Writes the request body; `write` resolves at once or when the connection can take more. */
export type BodyWriter = (write: (chunk: string | Buffer) => Promise<void> | undefined, stopped: () => boolean) => Promise<void>;

export interface ExchangeRequest {
  /** The request line and headers, each line ended by CRLF, without the empty line that ends them. */
  head: string;
  /** The whole body when it is known up front: written with the head in one go. */
  body?: readonly (string | Buffer)[];
  /** Or a writer for bodies streamed from disk; it may be called a second time when the request is retried. */
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

type Conn = Socket | TLSSocket;

/** The buffer plain connections read into: an answer head is far smaller, a longer body comes in several reads. */
const READ_BUFFER_BYTES = 16 * 1024;

/**
 * One connection and the exchange it carries, if any. Its listeners are added once, when it opens:
 * an exchange only sets itself as `current`, so a burst of requests adds and removes no listener.
 */
class Link {
  current: Active | undefined;
  /** Exchanges started on this connection: past the first, it may be one the server is closing right now. */
  uses = 0;
  /** Set when a retried exchange took over this connection's slot: its close frees nothing. */
  handedOver = false;

  constructor(
    readonly conn: Conn,
    onClose: (link: Link) => void,
  ) {
    // Bytes, an end or a timeout while idle: the server closed or broke the connection; it is not reused.
    // A plain connection reads into the pool's buffer instead (see `readInto`): it emits no "data".
    conn.on("data", (chunk: Buffer) => this.data(chunk));
    conn.on("end", () => (this.current ? this.current.ended() : conn.destroy()));
    conn.on("timeout", () => (this.current ? this.current.timedOut() : conn.destroy()));
    // Errors reach the exchange, or end an idle connection through "close"; none may go unheard.
    conn.on("error", (error: Error) => this.current?.lost(error));
    conn.once("close", () => {
      this.current?.closed();
      onClose(this);
    });
  }

  /** Bytes from the server; `chunk` may be a view of a buffer reused once this returns. */
  data(chunk: Buffer): void {
    if (this.current) this.current.data(chunk);
    else this.conn.destroy();
  }
}

/**
 * Reads of a plain connection go into one buffer of the pool, handed to its link (`onread`): no Buffer made per read
 * and none of a stream's machinery. The answer parser copies what it keeps, so the buffer is free again at once.
 */
function readInto(buffer: Buffer, to: { link?: Link }): { buffer: Buffer; callback: (bytes: number, into: Buffer) => boolean } {
  return {
    buffer,
    callback: (bytes, into) => {
      to.link?.data(into.subarray(0, bytes));
      return true;
    },
  };
}

export class ConnectionPool {
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly limits: ConnectionLimits;
  private readonly proxy: ProxyRoute | undefined;
  private readonly secureContext: SecureContext | undefined;
  /** Connections to the proxy not yet through their CONNECT: closed too when the pool is destroyed. */
  private readonly tunnels = new Set<Socket>();
  private readonly idle: Link[] = [];
  private readonly links = new Set<Link>();
  private readonly waiting: Array<(link: Link | Error) => void> = [];
  /** The last TLS session the origin gave: new connections resume it, skipping most of the handshake. */
  private session: Buffer | undefined;
  private open = 0;
  private destroyed = false;
  /** What plain connections read into, made at the first one; reads are handled one at a time, so they share it. */
  private readBuffer: Buffer | undefined;

  constructor(
    url: string,
    private readonly options: PoolOptions,
  ) {
    const target = new URL(url);
    this.secure = target.protocol === "https:";
    // URL keeps an IPv6 address in brackets; connecting wants it bare.
    this.host = target.hostname.replace(/^\[(.*)\]$/, "$1");
    this.port = Number(target.port) || (this.secure ? 443 : 80);
    this.limits = { ...connectionDefaults, ...options.limits };
    this.proxy = options.proxy instanceof Error ? undefined : options.proxy;
    this.secureContext = trustedContext(options.ca);
  }

  /** Through a proxy to an http endpoint: requests name the whole URL (absolute form) and carry this header line ("" without credentials). */
  forwarding(): { authorization: string } | undefined {
    return this.proxy !== undefined && !this.secure ? { authorization: this.proxy.authorization } : undefined;
  }

  /** Starts one exchange: on an idle connection, a new one, or the first to come free. */
  exchange(request: ExchangeRequest): Exchange {
    const pool = this;
    let link: Link | undefined;
    let done = false;
    let retried = false;
    // Methods, not arrows under names: the build gives a function bound to a name its name when it is made (one
    // defineProperty per closure), and these are made for every request. They are also the ends its Active calls.
    let ends!: Ends & { start(got: Link): void };
    const answer = new Promise<Answer>((resolve, reject) => {
      ends = {
        fail(error: Error): void {
          if (done) return;
          done = true;
          if (link) {
            link.current = undefined;
            link.conn.destroy(); // its "close" frees the slot and wakes a waiting request
          }
          reject(error);
        },
        succeed({ answer: result, reusable, keepAliveMs }: Parsed): void {
          if (done) return;
          done = true;
          if (link) {
            link.current = undefined;
            if (reusable) pool.release(link, keepAliveMs);
            else link.conn.destroy();
          }
          resolve(result);
        },
        start(got: Link): void {
          link = got;
          got.uses += 1;
          const active = new Active(request.keepBodyBytes, got.conn, pool.limits, ends);
          got.current = active;
          if (got.conn.destroyed) return active.closed();
          send(got.conn, active, request);
        },
        // A reused connection that breaks before any byte of the answer was most likely closed by the server
        // while the request was on its way: sent again at once, once, on a fresh connection. The server saw
        // nothing of it, or at worst stores the report twice under one uuid, which it drops as a duplicate.
        lost(error: Error): void {
          const dead = link;
          if (done || retried || dead === undefined || dead.uses < 2 || dead.current?.received !== false || pool.destroyed) return ends.fail(error);
          retried = true;
          dead.current = undefined;
          dead.handedOver = true;
          dead.conn.destroy();
          pool.links.delete(dead);
          const at = pool.idle.indexOf(dead);
          if (at >= 0) pool.idle.splice(at, 1);
          pool.open -= 1;
          pool.connect((fresh) => (fresh instanceof Error ? ends.fail(fresh) : done ? pool.release(fresh, undefined) : ends.start(fresh)));
        },
      };
      pool.acquire((got) => {
        if (got instanceof Error) return ends.fail(got);
        if (done) return pool.release(got, undefined); // destroyed while waiting: the connection is still good
        ends.start(got);
      });
    });
    return {
      answer,
      destroy(reason) {
        ends.fail(reason);
      },
    };
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
    for (const socket of this.tunnels) socket.destroy();
  }

  private acquire(give: (link: Link | Error) => void): void {
    if (this.destroyed) return give(new Error("connection pool closed"));
    if (this.options.proxy instanceof Error) return give(this.options.proxy);
    // A connection closed while idle stays listed until its "close" event: skip it.
    for (let idle = this.idle.pop(); idle !== undefined; idle = this.idle.pop()) {
      if (idle.conn.destroyed) continue;
      return give(idle);
    }
    if (this.open < this.options.maxSockets) return this.connect(give);
    this.waiting.push(give);
  }

  /** Opens a connection in a free slot (counted at once) and gives it, or the error that ended it. */
  private connect(give: (link: Link | Error) => void): void {
    this.open += 1;
    const proxy = this.proxy;
    if (!this.secure) {
      // Through a proxy, an http endpoint's requests go to the proxy itself, in absolute form.
      if (proxy !== undefined) return give(this.adopt(dialProxy(proxy, this.secureContext)));
      const to: { link?: Link } = {};
      const onread = readInto((this.readBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES)), to);
      const link = this.adopt(lazyNet().connect({ host: this.host, port: this.port, onread }));
      to.link = link;
      give(link);
      return;
    }
    if (proxy === undefined) return give(this.adopt(this.startTls(undefined)));
    openTunnel(
      proxy,
      { host: this.host, port: this.port },
      { timeoutMs: this.limits.connectTimeoutMs, secureContext: this.secureContext, track: (socket) => this.tunnels.add(socket) },
      (tunnel) => {
        if (!(tunnel instanceof Error)) this.tunnels.delete(tunnel);
        if (tunnel instanceof Error || this.destroyed) {
          if (!(tunnel instanceof Error)) tunnel.destroy();
          this.open -= 1;
          give(tunnel instanceof Error ? tunnel : new Error("connection pool closed"));
          return this.wakeOne();
        }
        give(this.adopt(this.startTls(tunnel)));
      },
    );
  }

  /** TLS to the endpoint, directly or inside a proxy's tunnel: verified against the endpoint's own name either way. */
  private startTls(tunnel: Socket | undefined): TLSSocket {
    return lazyTls().connect({
      ...(tunnel !== undefined ? { socket: tunnel } : {}),
      host: this.host,
      port: this.port,
      // A server name is sent for names only; TLS does not allow an IP address there.
      ...(lazyNet().isIP(this.host) === 0 ? { servername: this.host } : {}),
      rejectUnauthorized: !this.options.ignoreSslCertificate,
      ALPNProtocols: ["http/1.1"],
      ...(this.session !== undefined ? { session: this.session } : {}),
      ...(this.secureContext !== undefined ? { secureContext: this.secureContext } : {}),
    });
  }

  /** Takes a connection into the pool: its listeners, its connect deadline, its TLS sessions. */
  private adopt(conn: Conn): Link {
    // Neither an open connection nor a pending one keeps the process alive.
    conn.unref();
    conn.setNoDelay(true);
    const encrypted = "encrypted" in conn;
    if (this.secure) conn.on("session", (session: Buffer) => (this.session = session));
    // One timer per new connection (rare with keep-alive): the socket's own timeout is the exchange's.
    const ms = this.limits.connectTimeoutMs;
    const timer = setTimeout(() => conn.destroy(new Error(`could not connect within ${ms} ms`)), ms);
    timer.unref();
    conn.once(encrypted ? "secureConnect" : "connect", () => clearTimeout(timer));
    conn.once("close", () => clearTimeout(timer));
    const link = new Link(conn, (closed) => {
      this.links.delete(closed);
      if (closed.handedOver) return; // its slot went to the retried exchange's fresh connection
      this.open -= 1;
      const at = this.idle.indexOf(closed);
      if (at >= 0) this.idle.splice(at, 1);
      this.wakeOne();
    });
    this.links.add(link);
    return link;
  }

  /** A connection whose exchange ended cleanly: reused by the next waiting request, or kept idle. */
  private release(link: Link, keepAliveMs: number | undefined): void {
    if (this.destroyed || link.conn.destroyed) return void link.conn.destroy();
    // Closed before the server's own keep-alive runs out, so that a request never races the server's close;
    // a hint too short for that margin means the connection is not kept at all.
    const idleMs = Math.min(this.limits.idleCloseMs, keepAliveMs === undefined ? Infinity : keepAliveMs - this.limits.keepAliveMarginMs);
    if (idleMs <= 0) return void link.conn.destroy();
    const next = this.waiting.shift();
    if (next !== undefined) return next(link);
    this.idle.push(link);
    // An idle connection ends when the server closes it, says anything, or after the idle time.
    link.conn.setTimeout(idleMs);
  }

  private wakeOne(): void {
    if (this.destroyed || this.waiting.length === 0 || this.open >= this.options.maxSockets) return;
    const next = this.waiting.shift()!;
    this.connect(next);
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
