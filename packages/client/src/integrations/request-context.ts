// What every framework integration shares: its options, the request's scope and attributes (allowlisted headers, redacted query), and when an error is reported.
import { AsyncLocalStorage } from "node:async_hooks";
import { getDefaultSender } from "../capture/report.js";
import { currentScope, noteEscapingScope, runInScope, type Scope, type User } from "../capture/scope.js";
import { defaults } from "../defaults.js";
import { SECRET_KEY, REDACTED } from "../assemble/redact.js";
import type { SendOutcome } from "../outcome.js";

/** What an integration needs of a client; a `BacktraceClient` is one. */
export interface ReportingClient {
  withScope<T>(fn: (scope: Scope) => T): T;
  sendException(error: unknown, options?: { attributes?: Record<string, unknown>; annotations?: Record<string, unknown> }): Promise<SendOutcome>;
  flush(timeout?: number): Promise<boolean>;
  /**
   * @internal A decision still to come (an answer not finished yet): counted as pending, and made by the exit path
   * (`decide`, synchronous) before it spools what is unbuilt, so a process ending meanwhile loses nothing. Returns the release.
   */
  holdDecision?(decide: () => void): () => void;
}

export interface IntegrationOptions {
  /** The client reports go to; default: the default client (`initialize`) at the time of each request. */
  client?: ReportingClient | undefined;
  /** Request headers sent as `request.header.<name>` (lower case). Cookies and credentials are never sent, even if listed. */
  headers?: readonly string[] | undefined;
  /** Send the client's IP address as `request.ip`. Off by default. */
  clientIp?: boolean | undefined;
  /** Report errors answered with a 4xx status too. Off by default: only 5xx (and crashes) are reported. */
  reportClientErrors?: boolean | undefined;
  /** The user of a request, read when a report is made; default: `req.user`'s `id`, `email` and `name` (or `username`). */
  user?: ((request: never) => User | null | undefined) | undefined;
}

/** Headers sent by default: none of them carries credentials. */
export const DEFAULT_HEADERS: readonly string[] = ["user-agent", "content-type", "content-length", "accept", "host", "x-request-id", "x-forwarded-proto"];

// Never sent, whatever the allowlist says: they carry sessions and credentials.
const NEVER = /^(?:cookie|set-cookie|authorization|proxy-authorization)$|token|secret|api[-_]?key|session|auth/i;

/** One request as the integrations see it, whatever the framework. */
export interface RequestFacts {
  method?: string | undefined;
  /** The URL as received: path and query. */
  url?: string | undefined;
  headers?: Record<string, string | string[] | undefined> | undefined;
  id?: string | undefined;
  ip?: string | undefined;
}

/** The client of a request: the one in the options, else the default client now. */
export function clientOf(options: IntegrationOptions): ReportingClient | undefined {
  try {
    return options.client ?? (getDefaultSender() as ReportingClient | undefined);
  } catch {
    // Options that cannot be read (a throwing getter) mean no client: the request goes on unreported.
    return undefined;
  }
}

/** Runs `fn` in a new scope of `client` (or a scope of the default limits when there is no client yet). */
export function inRequestScope<T>(client: ReportingClient | undefined, fn: (scope: Scope) => T): T {
  if (client) return client.withScope(fn);
  const { maxEntries, maxMessageLength, maxAttributeDepth, maxBytes } = defaults.breadcrumbs;
  return runInScope({ maxEntries, maxMessageLength, maxAttributeDepth, maxBreadcrumbBytes: maxBytes }, fn);
}

// Query parameters that carry credentials in OAuth and signed-URL flows, though their names look harmless.
const QUERY_SECRET = /^(code|state|sig|signature|key|x-amz-signature|x-amz-credential|x-goog-signature)$/i;

function pathAndQuery(url: string | undefined): { path: string | undefined; query: Record<string, string> | undefined } {
  if (url === undefined) return { path: undefined, query: undefined };
  const at = url.indexOf("?");
  if (at < 0) return { path: url, query: undefined };
  const query: Record<string, string> = {};
  // Keys are kept; values under secret-looking keys never leave the process.
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) query[key] = SECRET_KEY.test(key) || QUERY_SECRET.test(key) ? REDACTED : value;
  return { path: url.slice(0, at), query };
}

/** The attributes and annotations a request gives every report made while it runs. */
export function requestAttributes(facts: RequestFacts, options: IntegrationOptions): { attributes: Record<string, unknown>; annotations: Record<string, unknown> } {
  const attributes: Record<string, unknown> = {};
  const annotations: Record<string, unknown> = {};
  const { path, query } = pathAndQuery(facts.url);
  if (facts.method !== undefined) attributes["request.method"] = facts.method;
  if (path !== undefined) attributes["request.path"] = path;
  if (facts.id !== undefined && facts.id !== "") attributes["request.id"] = facts.id;
  if (options.clientIp === true && facts.ip !== undefined) attributes["request.ip"] = facts.ip;
  for (const name of options.headers ?? DEFAULT_HEADERS) {
    const key = String(name).toLowerCase();
    if (NEVER.test(key)) continue;
    const value = facts.headers?.[key];
    if (value !== undefined) attributes[`request.header.${key}`] = Array.isArray(value) ? value.join(", ") : value;
  }
  if (query !== undefined) annotations["request.query"] = query;
  return { attributes, annotations };
}

/**
 * Sets a request's scope up. `live` holds values known only later (the route once routing matched, the status
 * once answered): they are read when a report is made, crash reports included, so they are getters.
 */
export function fillScope(scope: Scope, facts: RequestFacts, options: IntegrationOptions, live: Record<string, () => unknown>): void {
  const { attributes, annotations } = requestAttributes(facts, options);
  scope.setAttributes(attributes);
  for (const [key, value] of Object.entries(annotations)) scope.setAnnotation(key, value);
  for (const [key, read] of Object.entries(live)) {
    // A value the application sets later (through the scope) replaces the getter.
    const set = (value: unknown): void => {
      scope.version++;
      Object.defineProperty(scope.attributes, key, { value, writable: true, enumerable: true, configurable: true });
    };
    Object.defineProperty(scope.attributes, key, { enumerable: true, configurable: true, get: () => safely(read), set });
  }
}

function safely(read: () => unknown): unknown {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The user of a request: the `user` option's, else `request.user`'s id, email and name. Never throws. */
export function userOf(request: unknown, options: IntegrationOptions): User | undefined {
  try {
    const found = options.user ? options.user(request as never) : (request as { user?: unknown } | null)?.user;
    if (!found || typeof found !== "object") return undefined;
    const { id, email, name, username } = found as Record<string, unknown>;
    const user: User = {};
    if (typeof id === "string" || typeof id === "number") user.id = id;
    if (typeof email === "string") user.email = email;
    if (typeof name === "string") user.name = name;
    else if (typeof username === "string") user.name = username;
    return Object.keys(user).length > 0 ? user : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Events of the request and the response (a body parser's 'data' and 'end', 'finish') are emitted from the
 * socket's async context, not the request's: without this, code after a body parser runs outside its scope.
 */
export function emitInScope(...emitters: unknown[]): void {
  const inScope = AsyncLocalStorage.snapshot();
  for (const emitter of emitters) {
    const target = emitter as { emit?: (...args: unknown[]) => boolean } | null;
    const emit = target?.emit;
    if (typeof emit !== "function") continue;
    target!.emit = function (this: unknown, ...args: unknown[]): boolean {
      return inScope(() => {
        // A listener's throw propagates unchanged; the crash hooks that run next still find the request's scope.
        let returned = false;
        try {
          const handled = emit.apply(this, args);
          returned = true;
          return handled;
        } finally {
          if (!returned) noteEscapingScope(currentScope());
        }
      });
    };
  }
}

/** The status an error answers with, by the convention of Express, Koa and http-errors (`status`/`statusCode`), else `fallback`'s 4xx/5xx, else 500. */
export function statusOf(error: unknown, fallback?: number): number {
  return ownStatus(error) ?? (fallback !== undefined && fallback >= 400 && fallback <= 599 ? fallback : 500);
}

/** Whether an answer of `status` is reported: 5xx always, 4xx when `reportClientErrors`. */
export function shouldReport(status: number, options: IntegrationOptions): boolean {
  return status >= 500 || (options.reportClientErrors === true && status >= 400);
}

/** Reports an error of a request (inside its scope) with the status it answers with and its user. Never throws. */
export function reportRequestError(
  client: ReportingClient | undefined,
  error: unknown,
  status: number,
  request: unknown,
  options: IntegrationOptions,
  extra: Record<string, unknown> = {},
): Promise<unknown> | undefined {
  if (!client || !shouldReport(status, options)) return undefined;
  try {
    const attributes: Record<string, unknown> = { ...extra, "response.status": status };
    for (const key of Object.keys(attributes)) if (attributes[key] === undefined) delete attributes[key];
    const user = userOf(request, options);
    // Only the fields found: an undefined one would hide a user the application set on the client or the scope.
    if (user?.id !== undefined) attributes["user.id"] = user.id;
    if (user?.email !== undefined) attributes["user.email"] = user.email;
    if (user?.name !== undefined) attributes["user.name"] = user.name;
    return client.sendException(error, { attributes }).catch(() => undefined);
  } catch {
    // Never into the application.
    return undefined;
  }
}

/** The status the error names itself (http-errors, Koa, Fastify's `statusCode`), if any. */
function ownStatus(error: unknown): number | undefined {
  try {
    const { status, statusCode } = (error ?? {}) as { status?: unknown; statusCode?: unknown };
    for (const value of [status, statusCode]) if (typeof value === "number" && Number.isInteger(value) && value >= 400 && value <= 599) return value;
  } catch {
    // A hostile error object: no status of its own.
  }
  return undefined;
}

interface ResponseLike {
  statusCode?: unknown;
  writableFinished?: unknown;
  destroyed?: unknown;
  once?: (event: string, listener: () => void) => unknown;
}

/**
 * Reports an error of a request once its answer is known. An error that names its status is decided at once; one
 * that does not waits for the response to finish (or close), so that an application's own error handler running
 * after this one (Fastify's `setErrorHandler`, a later Express error handler) decides the status: a 4xx it answers
 * is not reported by default, anything else is, with the status sent. Never throws.
 */
export function reportWhenAnswered(
  client: ReportingClient | undefined,
  error: unknown,
  response: unknown,
  request: unknown,
  options: IntegrationOptions,
  extra: Record<string, unknown> = {},
): void {
  try {
    const res = response as ResponseLike | undefined;
    const sentStatus = (): number | undefined => (typeof res?.statusCode === "number" ? res.statusCode : undefined);
    if (!client || ownStatus(error) !== undefined || typeof res?.once !== "function" || res.writableFinished === true || res.destroyed === true) {
      reportRequestError(client, error, statusOf(error, sentStatus()), request, options, extra);
      return;
    }
    let done = false;
    let release: (() => void) | undefined;
    const decide = (): void => {
      if (done) return;
      done = true;
      // A 2xx/3xx sent for an error with no status of its own is still an error the application met: reported as a 500.
      reportRequestError(client, error, statusOf(error, sentStatus()), request, options, extra);
      release?.();
    };
    // Until the answer ends, the client's exit path decides it with the status set so far (a process.exit or a crash
    // right after the application's error handler answered must not lose the report).
    if (typeof client.holdDecision === "function") release = client.holdDecision(decide);
    // "finish" when the answer is handed to the socket; "close" when the connection ends without one.
    res.once("finish", decide);
    res.once("close", decide);
  } catch {
    // Never into the application.
  }
}

