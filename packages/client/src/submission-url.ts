// The URL reports are posted to, built from the endpoint and token, and the ways it is shown or written without its token.
import { BacktraceConfigError, ErrorCodes } from "./errors.js";

function fail(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], option: string, message: string): never {
  throw new BacktraceConfigError(code, option, message);
}

const submitForm = /^\/[^/]+\/[^/]+\/json\/?$/;

/**
 * The URL a JSON report is posted to.
 * - A `submit.backtrace.io` URL, or any URL already shaped `/{universe}/{token}/json`, is used as given.
 * - An endpoint that already carries `token=` is used as given (with `format=json` added if missing).
 * - Otherwise the token is required: `/post` is appended to the endpoint's path (an empty path gives `/post`,
 *   `https://host/api` gives `/api/post`, a path already ending in `/post` is kept), then `format=json&token=`.
 */
export function submissionUrlFor(endpoint: unknown, token: string | undefined): string {
  if (typeof endpoint !== "string" || endpoint.trim() === "") {
    fail(
      ErrorCodes.INVALID_ENDPOINT,
      "endpoint",
      'backtrace-ts: option "endpoint" is required, e.g. "https://submit.backtrace.io/<universe>/<token>/json" or "https://<host>:6098" with "token".',
    );
  }
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    // The endpoint is not echoed: a submit URL holds the token.
    fail(ErrorCodes.INVALID_ENDPOINT, "endpoint", 'backtrace-ts: option "endpoint" is not a valid URL (expected e.g. "https://host:6098").');
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    fail(ErrorCodes.INVALID_ENDPOINT, "endpoint", `backtrace-ts: option "endpoint" must be an http:// or https:// URL, got "${url.protocol}".`);
  }
  if (url.hostname === "submit.backtrace.io" || submitForm.test(url.pathname)) return url.href;
  // URLSearchParams only for an endpoint with a query of its own: made cold, it costs more than the rest of this.
  const query = url.search === "" ? undefined : url.searchParams;
  if (query?.has("token")) {
    if (!query.has("format")) query.set("format", "json");
    return url.href;
  }
  if (token === undefined) {
    fail(
      ErrorCodes.MISSING_TOKEN,
      "token",
      'backtrace-ts: option "token" is required with this endpoint (only submit.backtrace.io URLs carry their own token).',
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = /\/post$/.test(path) ? path : `${path}/post`;
  if (query === undefined) {
    url.search = `?format=json&token=${formEncode(token)}`;
  } else {
    query.set("format", "json");
    query.set("token", token);
  }
  return url.href;
}

/** A value as URLSearchParams writes it (application/x-www-form-urlencoded): encodeURIComponent leaves `!'()~` as they are. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/%20/g, "+")
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The values of `name` in a query, decoded as URLSearchParams decodes them; undefined when one does not decode
 * (a malformed escape), for URLSearchParams to decide then.
 */
function queryValues(search: string, name: string): string[] | undefined {
  const out: string[] = [];
  try {
    for (const part of search.slice(1).split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const decode = (text: string): string => decodeURIComponent(text.replace(/\+/g, " "));
      if (decode(eq === -1 ? part : part.slice(0, eq)) === name) out.push(eq === -1 ? "" : decode(part.slice(eq + 1)));
    }
  } catch {
    return undefined;
  }
  return out;
}

/** A path shaped like a submit URL, whatever its case or slashes: `/{universe}/{token}/json...`. */
const submitLike = /^\/+[^/]+\/+[^/]+\/+json(\/|$)/i;

/** Indexes of the path segments of `url` that may be a token (submit URLs of any shape): all but the universe. */
function tokenSegments(url: URL): number[] {
  if (url.hostname !== "submit.backtrace.io" && !submitLike.test(url.pathname)) return [];
  const parts = url.pathname.split("/");
  const candidates = parts.flatMap((part, index) => (part !== "" && part.toLowerCase() !== "json" ? [index] : []));
  // With two or more segments the first is the universe (not secret, useful in messages); a lone one may be the token.
  return candidates.length >= 2 ? candidates.slice(1) : candidates;
}

/** The URL with its token hidden, for messages. */
export function redactUrl(href: string): string {
  try {
    const url = new URL(href);
    if (url.password) url.password = "***";
    if (url.searchParams.has("token")) url.searchParams.set("token", "***");
    const parts = url.pathname.split("/");
    for (const index of tokenSegments(url)) parts[index] = "***";
    url.pathname = parts.join("/");
    return url.href;
  } catch {
    return "(unparsable URL)";
  }
}

/** The secret parts of a submission URL (token in the query or the path, password), raw and decoded, for `redactText`. */
export function urlSecrets(href: string): string[] {
  const found = new Set<string>();
  const add = (value: string): void => {
    found.add(value);
    try {
      found.add(decodeURIComponent(value));
    } catch {
      // A malformed escape: the raw form is enough.
    }
  };
  try {
    const url = new URL(href);
    if (url.password) add(url.password);
    for (const value of queryValues(url.search, "token") ?? url.searchParams.getAll("token")) {
      add(value);
      add(encodeURIComponent(value));
    }
    const parts = url.pathname.split("/");
    for (const index of tokenSegments(url)) add(parts[index]!);
  } catch {
    // Not a URL: nothing to add; `token=` is still hidden by `redactText`.
  }
  // Very short values would blank ordinary words; real tokens are long.
  return [...found].filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
}

/** Text (a debug line, an answer's body) with `token=...` and every occurrence of the given secrets hidden. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(token=)[^&\s"'<>;,]+/gi, "$1***");
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("***");
  return out;
}
