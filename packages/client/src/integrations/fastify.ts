// Fastify 4 and 5: a plugin whose onRequest hook opens a scope per request and whose onError hook reports the error the reply answers with.
import { clientOf, emitInScope, fillScope, inRequestScope, reportWhenAnswered, type IntegrationOptions } from "./request-context.js";

export type { IntegrationOptions, ReportingClient } from "./request-context.js";

/** The parts of a Fastify request that are read. */
export interface FastifyRequestLike {
  id?: unknown;
  method?: string;
  url?: string;
  ip?: string;
  headers: Record<string, string | string[] | undefined>;
  raw?: unknown;
  routeOptions?: { url?: string | undefined } | undefined;
  routerPath?: string | undefined;
  user?: unknown;
}

/** The parts of a Fastify reply that are read. */
export interface FastifyReplyLike {
  statusCode: number;
  raw?: unknown;
}

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLike {
  addHook(name: "onRequest", hook: (request: never, reply: never, done: () => void) => void): unknown;
  addHook(name: "onError", hook: (request: never, reply: never, error: unknown, done: () => void) => void): unknown;
}

export type BacktracePlugin = ((fastify: FastifyLike, options: IntegrationOptions, done: (error?: Error) => void) => void) & {
  [key: symbol]: unknown;
};

// A plugin marked so sets its hooks on the instance it is registered on, the whole app, as fastify-plugin does.
const SKIP_OVERRIDE = Symbol.for("skip-override");

function routeOf(request: FastifyRequestLike): string | undefined {
  return request.routeOptions?.url ?? request.routerPath;
}

/** `app.register(fastifyPlugin({ ...options }))`: options given here win over those passed to `register`. */
export function fastifyPlugin(options: IntegrationOptions = {}): BacktracePlugin {
  const plugin = function backtraceFastify(fastify: FastifyLike, registerOptions: IntegrationOptions, done: (error?: Error) => void): void {
    const settings: IntegrationOptions = { ...registerOptions, ...options };
    fastify.addHook("onRequest", (request: FastifyRequestLike, reply: FastifyReplyLike, next: () => void) => {
      const client = clientOf(settings);
      inRequestScope(client, (scope) => {
        try {
          const id = typeof request.id === "string" || typeof request.id === "number" ? String(request.id) : undefined;
          fillScope(scope, { method: request.method, url: request.url, headers: request.headers, id, ip: request.ip }, settings, {
            "request.route": () => routeOf(request),
          });
          // The body is read from socket events: the handler after it runs in this scope through them.
          emitInScope(request.raw, reply.raw);
        } catch {
          // A request the integration cannot read still runs, in its scope.
        }
        next();
      });
    });
    fastify.addHook("onError", (request: FastifyRequestLike, reply: FastifyReplyLike, error: unknown, next: () => void) => {
      try {
        reportWhenAnswered(clientOf(settings), error, reply.raw, request, settings, { "request.route": routeOf(request) });
      } catch {
        // Never into the application.
      }
      next();
    });
    done();
  } as BacktracePlugin;
  plugin[SKIP_OVERRIDE] = true;
  plugin[Symbol.for("fastify.display-name")] = "backtrace-ts";
  return plugin;
}
