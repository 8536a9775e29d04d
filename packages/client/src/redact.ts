// Redaction of secret-looking values in attributes and annotations before a report leaves the process. Pure.

/** What replaces a redacted value. */
export const REDACTED = "[REDACTED]";

/** Keys whose values are secrets by their name (matched case-insensitively, anywhere in the key). */
export const SECRET_KEY =
  /password|passwd|passphrase|^pass$|^pwd$|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|^auth$|authorization|credential|cookie|session[-_.]?id|signature/i;

// Values that are secrets by their shape, wherever they appear.
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
const URL_SECRET = /([?&](?:token|access_token|api[-_]?key|key|secret|password|sig|signature)=)[^&#\s"']+/gi;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^/\s@]+@/gi;

/** Counts what was redacted, for the client's counters. */
export interface RedactionCount {
  values: number;
}

/** The string with secret-shaped parts (bearer tokens, JWTs, URL credentials) replaced. */
export function redactString(text: string, count?: RedactionCount): string {
  if (text.length < 8) return text;
  let changed = 0;
  const out = text
    .replace(BEARER, (_, scheme: string) => (changed++, `${scheme} ${REDACTED}`))
    .replace(JWT, () => (changed++, REDACTED))
    .replace(URL_SECRET, (_, head: string) => (changed++, `${head}${REDACTED}`))
    .replace(URL_USERINFO, (_, head: string) => (changed++, `${head}${REDACTED}@`));
  if (count) count.values += changed;
  return out;
}

/**
 * A copy of JSON-safe data (as made by toSafeJson) with secret-looking values redacted: every value
 * under a secret-looking key, and secret-shaped parts of every string.
 */
export function redact(value: unknown, count?: RedactionCount, depth = 0): unknown {
  if (typeof value === "string") return redactString(value, count);
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, count, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (SECRET_KEY.test(key) && item !== null && item !== "") {
      out[key] = REDACTED;
      if (count) count.values++;
    } else {
      out[key] = redact(item, count, depth + 1);
    }
  }
  return out;
}
