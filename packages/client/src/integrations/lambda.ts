// AWS Lambda-style handlers: each invocation in a scope of its own; an error is reported and flushed within the invocation's remaining time, then thrown on unchanged.
import { clientOf, fillScope, inRequestScope, reportRequestError, type IntegrationOptions } from "./request-context.js";

export type { IntegrationOptions, ReportingClient } from "./request-context.js";

/** The parts of the Lambda context that are read. */
export interface LambdaContext {
  awsRequestId?: string;
  functionName?: string;
  functionVersion?: string;
  getRemainingTimeInMillis?: () => number;
}

export interface LambdaOptions extends IntegrationOptions {
  /** Milliseconds of the invocation kept free after the flush, for the handler's own return. Default 500. */
  marginMs?: number | undefined;
}

/** What an API Gateway (REST or HTTP API) or function URL event says about its request. */
function eventFacts(event: unknown): { method?: string; url?: string; route?: string; headers?: Record<string, string> } {
  const e = (event ?? {}) as Record<string, unknown>;
  const http = ((e["requestContext"] as Record<string, unknown> | undefined)?.["http"] ?? {}) as Record<string, unknown>;
  const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
  const method = text(e["httpMethod"]) ?? text(http["method"]);
  const path = text(e["rawPath"]) ?? text(e["path"]);
  const rawQuery = text(e["rawQueryString"]);
  const routeKey = text(e["routeKey"]);
  const route = text(e["resource"]) ?? (routeKey && routeKey !== "$default" ? routeKey.replace(/^\S+\s+/, "") : undefined);
  const headers = typeof e["headers"] === "object" && e["headers"] !== null ? Object.fromEntries(Object.entries(e["headers"] as object).map(([k, v]) => [k.toLowerCase(), String(v)])) : undefined;
  const out: { method?: string; url?: string; route?: string; headers?: Record<string, string> } = {};
  if (method !== undefined) out.method = method;
  if (path !== undefined) out.url = rawQuery ? `${path}?${rawQuery}` : path;
  if (route !== undefined) out.route = route;
  if (headers !== undefined) out.headers = headers;
  return out;
}

/**
 * Wraps an async handler `(event, context) => result`. An error it throws is reported, pending reports are
 * flushed (bounded by `context.getRemainingTimeInMillis()` less `marginMs`), and the same error is thrown.
 */
export function wrapHandler<E, C extends LambdaContext, R>(handler: (event: E, context: C) => R | Promise<R>, options: LambdaOptions = {}): (event: E, context: C) => Promise<R> {
  return function backtraceHandler(this: unknown, event, context) {
    const client = clientOf(options);
    return inRequestScope(client, async (scope) => {
      const facts = eventFacts(event);
      try {
        fillScope(scope, { ...facts, id: context?.awsRequestId }, options, {});
        if (facts.route !== undefined) scope.setAttribute("request.route", facts.route);
        if (typeof context?.functionName === "string") scope.setAttribute("lambda.function", context.functionName);
        if (typeof context?.functionVersion === "string") scope.setAttribute("lambda.version", context.functionVersion);
      } catch {
        // An event the integration cannot read still runs, in its scope.
      }
      try {
        return await handler.call(this, event, context);
      } catch (error) {
        // A thrown error fails the invocation, whatever status it carries (API Gateway answers 502): always reported.
        reportRequestError(client, error, 500, event, options);
        await flushWithin(client, context, options.marginMs ?? 500);
        throw error;
      }
    });
  };
}

async function flushWithin(client: ReturnType<typeof clientOf>, context: LambdaContext | undefined, marginMs: number): Promise<void> {
  if (!client) return;
  try {
    const remaining = typeof context?.getRemainingTimeInMillis === "function" ? context.getRemainingTimeInMillis() : undefined;
    await client.flush(remaining === undefined ? undefined : Math.max(0, remaining - marginMs) / 1000);
  } catch {
    // The handler's own error is what the invocation ends with.
  }
}
