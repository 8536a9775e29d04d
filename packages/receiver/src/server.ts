// The HTTP server: routes submissions, viewer pages, the JSON API and downloads; `startReceiver` opens the store and listens.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { downloadAttachment, getReport, listGroups, listReports, rawBody } from "./api.js";
import { HttpError, isHttpError, ReceiverError } from "./errors.js";
import { html, layout } from "./html.js";
import { resolveOptions, type ReceiverOptions, type ResolvedOptions } from "./options.js";
import { groupsPage } from "./group-list-page.js";
import { groupPage } from "./group-page.js";
import { createLiveHub, liveScript, type LiveHub } from "./live.js";
import type { PageContext } from "./page-parts.js";
import { reportPage } from "./report-page.js";
import { createGroupCommit, type GroupCommit } from "./group-commit.js";
import { corsHeaders, crossSiteReason, hostAllowed, localNames, viewerAuthorized, type HostRules } from "./request-guard.js";
import { openStore, type Store } from "./store.js";
import { submit, type SubmitTarget } from "./submit.js";

export interface RunningReceiver {
  /** Base URL, e.g. http://127.0.0.1:6097 (also the viewer's address). */
  url: string;
  port: number;
  /** Stops accepting connections, waits for requests in flight, closes the database. */
  close(): Promise<void>;
}

/** Formats the Backtrace submission endpoints take in the `/{universe}/{token}/{format}` form; only json is accepted. */
const submitFormats = new Set(["json", "minidump", "plcrash", "btt", "sourcemap", "symbols"]);

const pageHeaders = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": "no-store", ...extra });
  res.end(text);
}

function sendPage(res: ServerResponse, status: number, page: string): void {
  res.writeHead(status, pageHeaders);
  res.end(page);
}

/** The submission target of a POST path, or undefined when the path is not a submission URL. */
function submissionTarget(segments: string[], query: URLSearchParams): SubmitTarget | undefined {
  const path = segments.join("/");
  if (path === "post" || path === "api/post") {
    return { token: query.get("token") ?? undefined, format: query.get("format") ?? undefined, query };
  }
  if (segments.length === 3 && submitFormats.has(segments[2]!)) {
    return { token: segments[1], format: segments[2], query };
  }
  return undefined;
}

interface Handler {
  json: boolean;
  run(): Promise<void> | void;
}

type Context = PageContext & { options: ResolvedOptions; commit: GroupCommit; hostRules: HostRules; live: LiveHub };

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((item) => item.address));
}

const basicChallenge = { "www-authenticate": 'Basic realm="backtrace-ts-receiver", charset="UTF-8"' };

function route(req: IncomingMessage, res: ServerResponse, context: Context): Handler | undefined {
  // Backtrace's own docs write the listener URL with a double slash (":6098//post"); collapse it.
  const url = new URL((req.url ?? "/").replace(/^\/+/, "/"), "http://receiver.invalid");
  let segments: string[];
  try {
    segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const query = url.searchParams;
  const { store, options, commit, live } = context;
  const method = req.method ?? "GET";
  const target = submissionTarget(segments, query);
  if (target) {
    const refused = crossSiteReason(req.headers, options.allowOrigins);
    if (refused) throw new HttpError(403, refused);
    const cors = corsHeaders(req.headers, options.allowOrigins);
    if (method === "OPTIONS" && cors["access-control-allow-origin"]) {
      // The preflight a browser sends before a JSON POST from an allowed origin.
      return {
        json: true,
        run: () => {
          res.writeHead(204, { ...cors, "access-control-allow-methods": "POST", "access-control-allow-headers": "content-type", "access-control-max-age": "600" });
          res.end();
        },
      };
    }
    if (method !== "POST") throw new HttpError(405, "submissions must be POSTed");
    return {
      json: true,
      run: async () => {
        const answer = await submit(req, target, { store, commit, options, now: context.now, onStored: live.publish });
        sendJson(res, answer.status, answer.body, cors);
      },
    };
  }
  if (options.viewerToken !== undefined && !viewerAuthorized(req.headers["authorization"], options.viewerToken)) {
    throw new HttpError(401, "this receiver's viewer and API need the viewer token", [], basicChallenge);
  }
  if (method !== "GET" && method !== "HEAD") return undefined;
  const [first, second, third] = segments;
  if (segments.length === 0) return { json: false, run: () => sendPage(res, 200, groupsPage(query, context)) };
  if (segments.length === 2 && first === "groups") return { json: false, run: () => sendPage(res, 200, groupPage(second!, query, context)) };
  if (segments.length === 2 && first === "reports") return { json: false, run: () => sendPage(res, 200, reportPage(second!, context)) };
  if (segments.length === 3 && first === "reports" && third === "raw.json") {
    return {
      json: true,
      run: () => {
        const raw = rawBody(second!, store);
        res.writeHead(200, { ...raw.headers, "cache-control": "no-store" });
        res.end(method === "HEAD" ? undefined : raw.data);
      },
    };
  }
  if (segments.length === 1 && first === "events") return { json: true, run: () => live.subscribe(req, res) };
  if (segments.length === 2 && first === "assets" && second === "live.js") {
    return {
      json: true,
      run: () => {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": "no-cache" });
        res.end(method === "HEAD" ? undefined : liveScript);
      },
    };
  }
  if (segments.length === 2 && first === "attachments") {
    return {
      json: true,
      run: () => {
        const download = downloadAttachment(second!, store);
        res.writeHead(200, { ...download.headers, "cache-control": "no-store" });
        res.end(method === "HEAD" ? undefined : download.data);
      },
    };
  }
  if (first === "api" && second === "groups" && segments.length === 2) return { json: true, run: () => sendJson(res, 200, listGroups(query, store)) };
  if (first === "api" && second === "reports" && segments.length === 2) return { json: true, run: () => sendJson(res, 200, listReports(query, store)) };
  if (first === "api" && second === "reports" && segments.length === 3) return { json: true, run: () => sendJson(res, 200, getReport(third!, store)) };
  return undefined;
}

function fail(res: ServerResponse, json: boolean, error: HttpError, anyToken: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Past the size limit the rest of the body is not read: the connection is closed after the answer.
  const extra: Record<string, string> = { ...error.headers, ...(error.status === 413 ? { connection: "close" } : {}) };
  if (json) {
    const body: Record<string, unknown> = { response: "error", message: error.message };
    if (error.details.length > 0) body["errors"] = error.details;
    sendJson(res, error.status, body, extra);
    return;
  }
  res.writeHead(error.status, { ...pageHeaders, ...extra });
  res.end(layout({ title: `Error ${error.status}`, anyToken, content: html`<h1>${error.status}</h1><p>${error.message}</p><p><a href="/">← all groups</a></p>` }));
}

function handler(context: Context) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let json = true;
    // Only the path is ever logged: the query may hold the submission token.
    const path = (req.url ?? "/").split("?")[0]!;
    try {
      if (!hostAllowed(req.headers.host, context.hostRules)) {
        throw new HttpError(403, `requests for host "${req.headers.host}" are refused (DNS rebinding guard); start the receiver with --allowed-hosts to accept that name`);
      }
      const found = route(req, res, context);
      if (!found) throw new HttpError(404, `nothing at ${req.method ?? "GET"} ${path}`);
      json = found.json;
      await found.run();
    } catch (error) {
      const known = isHttpError(error) ? error : new HttpError(500, "internal error");
      if (!isHttpError(error)) context.options.log(`500 ${req.method} ${path}: ${(error as Error)?.stack ?? String(error)}`);
      else if (req.method === "POST" || known.status === 403) context.options.log(`${known.status} ${req.method} ${path}: ${known.message}`);
      fail(res, json || path.startsWith("/api/"), known, context.anyToken);
    }
  };
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Starts a receiver. Throws `ReceiverError` (BAD_OPTION) for bad options, an unusable database or a busy port. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<RunningReceiver> {
  const resolved = resolveOptions(options);
  let store: Store;
  try {
    store = openStore(resolved.db);
  } catch (error) {
    throw new ReceiverError("BAD_OPTION", `cannot open database ${resolved.db}: ${(error as Error).message}`);
  }
  const commit = createGroupCommit(store);
  const context: Context = {
    store,
    commit,
    options: resolved,
    anyToken: resolved.token === undefined,
    now: Date.now,
    live: createLiveHub(),
    hostRules: { port: resolved.port, local: localNames(resolved.host, interfaceAddresses), extra: resolved.allowedHosts },
  };
  const handle = handler(context);
  const server = createServer((req, res) => void handle(req, res));
  // A client sending "Expect: 100-continue" with an oversized body gets its 413 before it uploads anything.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers["content-length"] ?? 0) > resolved.maxBody) {
      fail(res, true, new HttpError(413, `request body is larger than the ${resolved.maxBody}-byte limit`), context.anyToken);
      return;
    }
    res.writeContinue();
    void handle(req, res);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(resolved.port, resolved.host, () => {
        server.off("error", reject);
        // Port 0 is only known now, before the first connection is handled.
        context.hostRules.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  } catch (error) {
    store.close();
    throw new ReceiverError("BAD_OPTION", `cannot listen on ${resolved.host}:${resolved.port}: ${(error as Error).message}`);
  }
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(resolved.host)}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        context.live.close();
        server.close(() => {
          commit.flush();
          store.close();
          resolve();
        });
        server.closeIdleConnections();
        // Requests still running after a grace period are cut so close() always finishes.
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      return closing;
    },
  };
}
