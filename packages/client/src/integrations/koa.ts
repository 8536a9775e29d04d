// Koa: a middleware that runs the rest of the chain in a scope per request, reports what it throws, and throws it on unchanged.
import { clientOf, emitInScope, fillScope, inRequestScope, reportRequestError, statusOf, type IntegrationOptions } from "./request-context.js";

export type { IntegrationOptions, ReportingClient } from "./request-context.js";

/** The parts of Koa's context that are read. */
export interface KoaContextLike {
  method?: string;
  originalUrl?: string;
  url?: string;
  ip?: string;
  headers?: Record<string, string | string[] | undefined>;
  req?: unknown;
  res?: unknown;
  status?: number;
  state?: { user?: unknown } | undefined;
  /** Set by @koa/router to the route pattern that matched. */
  _matchedRoute?: unknown;
}

function routeOf(ctx: KoaContextLike): string | undefined {
  return typeof ctx._matchedRoute === "string" ? ctx._matchedRoute : undefined;
}

/** `app.use(koaMiddleware())` first: the user is read from `ctx.state.user` unless the `user` option says otherwise. */
export function koaMiddleware(options: IntegrationOptions = {}): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<void> {
  const settings: IntegrationOptions = { user: (ctx: KoaContextLike) => (ctx.state?.user as never) ?? undefined, ...options };
  return function backtraceKoa(ctx, next) {
    const client = clientOf(settings);
    return inRequestScope(client, async (scope) => {
      try {
        const header = ctx.headers?.["x-request-id"];
        const facts = { method: ctx.method, url: ctx.originalUrl ?? ctx.url, headers: ctx.headers, id: typeof header === "string" ? header : undefined, ip: ctx.ip };
        fillScope(scope, facts, settings, { "request.route": () => routeOf(ctx) });
        emitInScope(ctx.req, ctx.res);
      } catch {
        // A request the integration cannot read still runs, in its scope.
      }
      try {
        await next();
      } catch (error) {
        // Koa answers a missing file (ENOENT) with 404, as its own ctx.onerror does.
        const missing = (error as { code?: unknown } | null)?.code === "ENOENT";
        reportRequestError(client, error, missing ? 404 : statusOf(error), ctx, settings, { "request.route": routeOf(ctx) });
        throw error;
      }
    });
  };
}
