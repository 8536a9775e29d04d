// The automatic breadcrumbs: console calls, outgoing HTTP requests (node:http/https and fetch, through diagnostics_channel), process warnings.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { format } from "node:util";
import { cutMessage, type BreadcrumbLevel, type BreadcrumbType } from "./breadcrumbs.js";

export interface BreadcrumbSwitches {
  console: boolean;
  http: boolean;
  warnings: boolean;
}

/** Where an automatic source hands its breadcrumb (the client picks the store: the current scope's or its own). */
export type RecordBreadcrumb = (message: string, level: BreadcrumbLevel, type: BreadcrumbType, attributes?: Record<string, unknown>) => void;

const CONSOLE_LEVELS = { log: "info", info: "info", warn: "warning", error: "error", debug: "debug" } as const;
type ConsoleMethod = keyof typeof CONSOLE_LEVELS;

/** Installs the sources that are switched on; the function returned removes them. Never throws. */
export function installBreadcrumbSources(switches: BreadcrumbSwitches, maxMessageLength: number, record: RecordBreadcrumb): () => void {
  const undo: Array<() => void> = [];
  const safely = (run: () => void): void => {
    try {
      run();
    } catch {
      // A breadcrumb is never worth an error in the application.
    }
  };
  // Node prints a warning through console.error as "(node:<pid>) ..."; with the warnings source on, it is recorded once, as a warning.
  const skip = switches.warnings ? `(node:${process.pid}) ` : undefined;
  if (switches.console) for (const method of Object.keys(CONSOLE_LEVELS) as ConsoleMethod[]) safely(() => undo.push(wrapConsole(method, maxMessageLength, record, skip)));
  if (switches.http) safely(() => undo.push(watchHttp(record)));
  if (switches.warnings) safely(() => undo.push(wrapEmitWarning(record)));
  return () => {
    for (const step of undo.reverse()) safely(step);
  };
}

/**
 * Warnings, Node's own deprecations included, go through `process.emitWarning`: wrapped rather than
 * listened to, so that the client adds no 'warning' listener to the process.
 */
function wrapEmitWarning(record: RecordBreadcrumb): () => void {
  const original = process.emitWarning;
  let on = true;
  const wrapped = function (this: unknown, ...args: unknown[]): void {
    if (on) {
      try {
        const [warning, second] = args;
        const type = typeof second === "string" ? second : ((second as { type?: unknown } | undefined)?.type ?? "Warning");
        const text = warning instanceof Error ? `${warning.name}: ${warning.message}` : `${String(type)}: ${String(warning)}`;
        record(text, "warning", "system");
      } catch {
        // A breadcrumb is never worth an error in the application.
      }
    }
    return (original as (...a: unknown[]) => void).apply(this, args);
  };
  process.emitWarning = wrapped as typeof process.emitWarning;
  return () => {
    on = false;
    if (process.emitWarning === wrapped) process.emitWarning = original;
  };
}

/** The text console would print, cut: a lone string as it is, anything else through util.format as console does. */
function consoleText(args: unknown[], max: number): string {
  const first = args[0];
  if (args.length === 1 && typeof first === "string") return cutMessage(first, max);
  return cutMessage(format(...args), max);
}

/**
 * Replaces `console[method]` with a function that calls the original first, with the same `this` and
 * arguments, and returns what it returns: the output is the original's, byte for byte, and an error of
 * the original (a closed stream with errors not ignored) reaches the caller as before.
 */
function wrapConsole(method: ConsoleMethod, max: number, record: RecordBreadcrumb, skip: string | undefined): () => void {
  const original = console[method] as (...args: unknown[]) => void;
  const level = CONSOLE_LEVELS[method];
  let on = true;
  const wrapped = function (this: unknown, ...args: unknown[]): void {
    original.apply(this, args);
    if (!on) return;
    try {
      const text = consoleText(args, max);
      if (skip === undefined || method !== "error" || !text.startsWith(skip)) record(text, level, "log");
    } catch {
      // A breadcrumb is never worth an error in the application.
    }
  };
  Object.defineProperty(wrapped, "name", { value: original.name });
  console[method] = wrapped;
  return () => {
    on = false;
    // Someone who wrapped console after us keeps their wrapper; ours then only passes calls through.
    if (console[method] === wrapped) console[method] = original;
  };
}

interface HttpRequestLike {
  method?: string;
  protocol?: string;
  host?: string;
  path?: string;
  getHeader?(name: string): unknown;
}

interface UndiciRequestLike {
  method?: string;
  origin?: string;
  path?: string;
}

/** The URL of a node:http request, without ever reading its body or headers other than the host it was sent to. */
function httpUrl(request: HttpRequestLike): string {
  const host = request.getHeader?.("host");
  return `${request.protocol ?? "http:"}//${typeof host === "string" ? host : (request.host ?? "")}${request.path ?? ""}`;
}

function levelOf(status: number | undefined): BreadcrumbLevel {
  if (status === undefined || status >= 500) return "error";
  return status >= 400 ? "warning" : "info";
}

/**
 * Outgoing requests, from the diagnostics channels of node:http and of fetch (undici). The client's own
 * reports go over net/tls sockets directly and publish on none of these, so they never become breadcrumbs.
 */
function watchHttp(record: RecordBreadcrumb): () => void {
  const started = new WeakMap<object, number>();
  const done = (method: string, url: string, status: number | undefined, request: object, error?: unknown): void => {
    const start = started.get(request);
    started.delete(request);
    const attributes: Record<string, unknown> = { method, url };
    if (status !== undefined) attributes["status"] = status;
    if (start !== undefined) attributes["duration"] = Math.round((performance.now() - start) * 10) / 10;
    if (error !== undefined) attributes["error"] = error instanceof Error ? error.message : String(error);
    record(`${method} ${url}${status !== undefined ? ` ${status}` : " failed"}`, levelOf(status), "http", attributes);
  };
  const handlers: Record<string, (message: unknown) => void> = {
    "http.client.request.start": (message) => {
      const { request } = message as { request: object };
      started.set(request, performance.now());
    },
    "http.client.response.finish": (message) => {
      const { request, response } = message as { request: HttpRequestLike; response: { statusCode?: number } };
      done(request.method ?? "GET", httpUrl(request), response.statusCode, request);
    },
    "http.client.request.error": (message) => {
      const { request, error } = message as { request: HttpRequestLike; error: unknown };
      done(request.method ?? "GET", httpUrl(request), undefined, request, error);
    },
    "undici:request:create": (message) => {
      const { request } = message as { request: object };
      started.set(request, performance.now());
    },
    "undici:request:headers": (message) => {
      const { request, response } = message as { request: UndiciRequestLike; response: { statusCode?: number } };
      done(request.method ?? "GET", `${request.origin ?? ""}${request.path ?? ""}`, response.statusCode, request);
    },
    "undici:request:error": (message) => {
      const { request, error } = message as { request: UndiciRequestLike; error: unknown };
      done(request.method ?? "GET", `${request.origin ?? ""}${request.path ?? ""}`, undefined, request, error);
    },
  };
  const subscribed: Array<[string, (message: unknown) => void]> = [];
  for (const [channel, handler] of Object.entries(handlers)) {
    const guarded = (message: unknown): void => {
      try {
        handler(message);
      } catch {
        // A request of an unexpected shape is just not recorded.
      }
    };
    subscribe(channel, guarded);
    subscribed.push([channel, guarded]);
  }
  return () => {
    for (const [channel, handler] of subscribed) unsubscribe(channel, handler);
  };
}
