// node:http and node:https: a request listener wrapped so that each request runs in a scope of its own and its crashes carry its context.
import type { IncomingMessage, ServerResponse } from "node:http";
import { noteEscapingScope } from "../capture/scope.js";
import { clientOf, emitInScope, fillScope, inRequestScope, type IntegrationOptions } from "./request-context.js";

export type { IntegrationOptions, ReportingClient } from "./request-context.js";

export interface HttpOptions extends IntegrationOptions {
  /** The route pattern of a request (`/users/:id`), when the application routes by itself. */
  route?: ((req: IncomingMessage) => string | undefined) | undefined;
}

/**
 * Wraps a `http.createServer` listener. Nothing is caught: an error the listener throws, or a rejection of
 * the promise it returns, is Node's uncaught exception or unhandled rejection as before, reported by the
 * client's crash handling with the request's attributes.
 */
export function wrapListener<Req extends IncomingMessage, Res extends ServerResponse>(
  listener: (req: Req, res: Res) => unknown,
  options: HttpOptions = {},
): (req: Req, res: Res) => void {
  return function backtraceListener(this: unknown, req, res) {
    const client = clientOf(options);
    inRequestScope(client, (scope) => {
      try {
        const header = req.headers["x-request-id"];
        const facts = { method: req.method, url: req.url, headers: req.headers, id: typeof header === "string" ? header : undefined, ip: req.socket?.remoteAddress };
        fillScope(scope, facts, options, {
          "request.route": () => options.route?.(req),
          "response.status": () => (res.headersSent ? res.statusCode : undefined),
        });
        emitInScope(req, res);
      } catch {
        // A request the integration cannot read still runs, in its scope.
      }
      // The listener's throw propagates unchanged (the application's own try/catch still sees it); Node's crash
      // hooks, which run after it left the scope, still find the request's context.
      let returned = false;
      try {
        listener.call(this, req, res);
        returned = true;
      } finally {
        if (!returned) noteEscapingScope(scope);
      }
    });
  };
}
