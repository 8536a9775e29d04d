// Express 4 and 5: a request handler that opens a scope per request, and an error handler that reports and passes the error on unchanged.
import { clientOf, emitInScope, fillScope, inRequestScope, reportWhenAnswered, type IntegrationOptions } from "./request-context.js";

export type { IntegrationOptions, ReportingClient } from "./request-context.js";

/** The parts of Express's request that are read; any `express.Request` is one. */
export interface ExpressRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  baseUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  ip?: string;
  route?: { path?: unknown } | undefined;
  id?: unknown;
  user?: unknown;
}

/** The parts of Express's response that are read. */
export interface ExpressResponse {
  statusCode: number;
  headersSent: boolean;
}

export type ExpressNext = (error?: unknown) => void;

/** The route pattern that matched (`/users/:id`, under the router's mount path), not the path asked for. */
function routeOf(req: ExpressRequest): string | undefined {
  const path = req.route?.path;
  if (path === undefined) return undefined;
  const pattern = Array.isArray(path) ? path.map(String).join(",") : String(path);
  return `${req.baseUrl ?? ""}${pattern}`;
}

function requestId(req: ExpressRequest): string | undefined {
  if (typeof req.id === "string" || typeof req.id === "number") return String(req.id);
  const header = req.headers["x-request-id"];
  return typeof header === "string" ? header : undefined;
}

/** First middleware: every report made while the request runs, crash reports included, carries its context. */
export function requestHandler(options: IntegrationOptions = {}): (req: ExpressRequest, res: ExpressResponse, next: ExpressNext) => void {
  return function backtraceRequestHandler(req, res, next) {
    const client = clientOf(options);
    inRequestScope(client, (scope) => {
      try {
        const facts = { method: req.method, url: req.originalUrl ?? req.url, headers: req.headers, id: requestId(req), ip: req.ip };
        fillScope(scope, facts, options, {
          "request.route": () => routeOf(req),
          "response.status": () => (res.headersSent ? res.statusCode : undefined),
        });
        emitInScope(req, res);
      } catch {
        // A request the integration cannot read still runs, in its scope.
      }
      next();
    });
  };
}

/**
 * Last middleware before the application's own error handlers: reports the error (5xx; 4xx with
 * `reportClientErrors`) and calls `next(error)` with it unchanged, so the answer stays the application's.
 */
export function errorHandler(options: IntegrationOptions = {}): (error: unknown, req: ExpressRequest, res: ExpressResponse, next: ExpressNext) => void {
  // Four parameters: that is how Express tells an error handler.
  return function backtraceErrorHandler(error, req, res, next) {
    try {
      reportWhenAnswered(clientOf(options), error, res, req, options, { "request.route": routeOf(req) });
    } catch {
      // Never into the application.
    }
    next(error);
  };
}
