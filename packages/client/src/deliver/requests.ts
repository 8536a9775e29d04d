// Requests to the endpoint: one pool of keep-alive connections, the requests in flight (abortable), and the Retry-After hold on all of them.
import { errorText } from "../errors.js";
import { parseRetryAfter } from "./retry.js";
import { Cancellation } from "../transport/cancellation.js";
import { loadPost } from "../transport/lazy.js";
import type { NetworkOptions, TransportResult } from "../transport/post.js";
import type { ConnectionPool } from "../transport/http1.js";
import type { Payload } from "../payload.js";

export interface RequestsConfig extends NetworkOptions {
  url: string;
  timeoutMs: number;
  /** Keep-alive connections at most. */
  maxSockets: number;
  /** Longest Retry-After honoured. */
  maxRetryAfterMs: number;
  now: () => number;
  setTimer: (callback: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  /** Called when a Retry-After hold has passed. */
  onHoldEnd: () => void;
}

export interface Requests {
  /** Starts one request; `done` must be called once its result is read. */
  send(payload: Payload): { result: Promise<TransportResult>; done: () => void };
  /** Requests started and not done. */
  active(): number;
  /** Honours a response's Retry-After: no request starts before it has passed. */
  hold(result: TransportResult): void;
  holdUntil(): number;
  /** True while a Retry-After holds every request; then `onHoldEnd` is called when it has passed. */
  held(): boolean;
  /** Aborts every request in flight: each settles at once with an error result. */
  abortAll(): void;
  clearHold(): void;
  /** Closes the connections. */
  destroy(): void;
}

export function createRequests(config: RequestsConfig): Requests {
  const { now, setTimer, clearTimer } = config;
  // The connections are set up at the first request (the proxy settings read, a custom CA's TLS context made):
  // a client that has sent nothing yet has paid nothing for them.
  let pool: ConnectionPool | undefined;
  let destroyed = false;
  const connections = (): ConnectionPool => {
    if (pool === undefined) {
      pool = loadPost().createPool(config.url, { maxSockets: config.maxSockets, ignoreSslCertificate: config.ignoreSslCertificate, proxy: config.proxy, ca: config.ca });
      if (destroyed) pool.destroy();
    }
    return pool;
  };
  const cancel = new Cancellation();
  let active = 0;
  let holdUntil = 0;
  let holdTimer: unknown;

  function send(payload: Payload): { result: Promise<TransportResult>; done: () => void } {
    active += 1;
    let result: Promise<TransportResult>;
    try {
      result = loadPost().postReport(config.url, payload, {
        timeoutMs: config.timeoutMs,
        ignoreSslCertificate: config.ignoreSslCertificate,
        pool: connections(),
        cancel,
      });
    } catch (error) {
      // The request code could not be loaded (an install missing a file): the request fails like any other.
      result = Promise.resolve({ kind: "error", reason: errorText(error), timeout: false });
    }
    // A method, not an arrow under a name: the build gives every function bound to a name its name at run time,
    // one defineProperty for each closure made, which is each request here.
    return {
      result,
      done() {
        active -= 1;
      },
    };
  }

  function hold(result: TransportResult): void {
    if (result.kind !== "response") return;
    const ms = parseRetryAfter(result.retryAfter, now(), config.maxRetryAfterMs);
    if (ms !== undefined && ms > 0) holdUntil = Math.max(holdUntil, now() + ms);
  }

  function held(): boolean {
    if (now() >= holdUntil) return false;
    if (holdTimer === undefined) {
      holdTimer = setTimer(() => {
        holdTimer = undefined;
        config.onHoldEnd();
      }, holdUntil - now());
      // Timers never keep the process alive by themselves.
      (holdTimer as { unref?: () => void } | undefined)?.unref?.();
    }
    return true;
  }

  return {
    send,
    active: () => active,
    hold,
    holdUntil: () => holdUntil,
    held,
    abortAll: () => cancel.cancelAll(),
    clearHold: () => {
      clearTimer(holdTimer);
      holdTimer = undefined;
    },
    destroy: () => {
      destroyed = true;
      pool?.destroy();
    },
  };
}
