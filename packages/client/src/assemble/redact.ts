// Redaction of secret-looking values in attributes and annotations before a report leaves the process. Pure.

/** What replaces a redacted value. */
export const REDACTED = "[REDACTED]";

/** Keys whose values are secrets by their name (matched case-insensitively, anywhere in the key). */
export const SECRET_KEY =
  /password|passwd|passphrase|^pass$|^pwd$|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|^auth$|authorization|credential|cookie|session[-_.]?id|signature/i;

// Values that are secrets by their shape, wherever they appear. Auth schemes are case-insensitive (RFC 9110).
const AUTH_SCHEME = /\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})/gi;
const AUTH_NAME = /bearer|basic/i;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
// `name=value` at the start, or after ? & ; or whitespace: URL queries, form bodies, cookies, log lines.
const PARAM = /(^|[?&;\s])([A-Za-z0-9_.[\]-]+=)([^&;#\s"']+)/g;
// "key" only where a word ends, so keyboard= and keyword= are kept while apiKey= and key_id= are not.
const SECRET_PARAM = /token|secret|passw(?:or)?d|signature|credential|key(?![a-z])|^sig=$/i;
// Userinfo up to the last @ before the path: the user may be empty and the password may hold an @.
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^/\s"'<>]*@/gi;

/** Counts what was redacted, for the client's counters. */
export interface RedactionCount {
  values: number;
}

/** The string with secret-shaped parts (auth credentials, JWTs, URL passwords, secret parameters) replaced. */
export function redactString(text: string, count?: RedactionCount): string {
  if (text.length < 5 || !mayHoldSecret(text)) return text;
  let changed = 0;
  const out = text
    .replace(AUTH_SCHEME, (whole, scheme: string, credential: string) => {
      // "basic understanding": a lowercase scheme before a plain lowercase word is prose, not Basic auth.
      if (scheme === "basic" && /^[a-z]+$/.test(credential)) return whole;
      changed++;
      return `${scheme} ${REDACTED}`;
    })
    .replace(JWT, () => (changed++, REDACTED))
    .replace(URL_USERINFO, (_, head: string) => (changed++, `${head}${REDACTED}@`))
    .replace(PARAM, (whole, before: string, name: string) => {
      if (!SECRET_PARAM.test(name)) return whole;
      changed++;
      return `${before}${name}${REDACTED}`;
    });
  if (count) count.values += changed;
  return out;
}

/**
 * False when no pattern can match: each needs "=", "@", "eyJ" or an auth scheme's name. Most strings
 * (messages, stack traces) hold none of them, and these searches cost far less than four replaces.
 */
function mayHoldSecret(text: string): boolean {
  return text.includes("=") || text.includes("@") || text.includes("eyJ") || AUTH_NAME.test(text);
}

/**
 * A copy of JSON-safe data (as made by toSafeJson) with secret-looking values redacted: every value
 * under a secret-looking key, and secret-shaped parts of every string.
 */
export function redact(value: unknown, count?: RedactionCount, depth = 0): unknown {
  if (typeof value === "string") return redactString(value, count);
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (Array.isArray(value)) {
    // toSafeJson turns a Map into [key, value] pairs: a pair under a secret-looking key is redacted like a field.
    if (value.length === 2 && typeof value[0] === "string" && isSecretEntry(value[0], value[1])) {
      if (count) count.values++;
      return [value[0], REDACTED];
    }
    return value.map((item) => redact(item, count, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (isSecretEntry(key, item)) {
      out[key] = REDACTED;
      if (count) count.values++;
    } else {
      out[key] = redact(item, count, depth + 1);
    }
  }
  return out;
}

function isSecretEntry(key: string, value: unknown): boolean {
  return SECRET_KEY.test(key) && value !== null && value !== "";
}
