// Redaction of secret-looking values in attributes, annotations and source lines before a report leaves the process. Pure.

/** What replaces a redacted value. */
export const REDACTED = "[REDACTED]";

/** Keys whose values are secrets by their name (matched case-insensitively, anywhere in the key). */
export const SECRET_KEY =
  /password|passwd|passphrase|^pass$|^pwd$|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|^auth$|authorization|credential|cookie|sess(?:ion)?[-_.]?id|signature|(?:^|[-_.])sid$/i;

// Values that are secrets by their shape, wherever they appear. Auth schemes are case-insensitive (RFC 9110).
const AUTH_SCHEME = /\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})/gi;
const AUTH_NAME = /bearer|basic/i;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
// Userinfo up to the last @ before the path: the user may be empty and the password may hold an @.
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^/\s"'<>]*@/gi;
// Stripe-style secret and restricted keys (publishable pk_ keys are public).
const LIVE_KEY = /\b[sr]k_(?:live|test)_[A-Za-z0-9]{8,}/g;
// AWS access key ids (long-term AKIA, temporary ASIA).
const AWS_KEY_ID = /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g;

// Values that are secrets by the name written before them.
// `name=value` at the start, or after ? & ; whitespace, a quote, a paren, a brace, a bracket or a comma.
const PARAM = /(^|[?&;\s"'(,{[])([A-Za-z0-9_.[\]-]+=)([^&;#\s"',)]+)/g;
// "key" only where a word ends, so keyboard= and keyword= are kept while apiKey= and key_id= are not.
const SECRET_PARAM =
  /token|secret|passw(?:or)?d|signature|credential|key(?![a-z])|^sig=$|(?:^|[-_.])(?:pwd|pass)=$|sess(?:ion)?(?:[-_.]?id)?=$|(?:^|[-_.])sid=$/i;
// `name: value` (log lines, YAML, headers such as Set-Cookie), the value optionally quoted.
const COLON = /(^|[\s,;({[])([A-Za-z][A-Za-z0-9_.-]{0,63})(\s*:[ \t]*)(["']?)([^\s,;'"(){}[\]<>]+)/g;
// The secret word must end the name: "TokenExpiredError: jwt expired" and "(token.js:10:5)" are not secrets.
// Authorization is left out: its value starts with the scheme, which AUTH_SCHEME handles.
const COLON_NAME =
  /(?:password|passwd|passphrase|^pass|^pwd|secret|token|api[-_.]?key|access[-_.]?key|private[-_.]?key|^auth|credential|cookie|sess(?:ion)?[-_.]?id|signature|(?:^|[-_.])sid)$/i;
// `"name": "value"` in JSON text held in a string (an HTTP client error's response body, a logged payload).
const JSON_FIELD = /"([^"\\]{1,64})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
// An AWS secret access key after its name, with = or : and optional spaces and quotes (credentials files, env dumps).
const AWS_SECRET = /(aws_?secret_?access_?key["']?\s*[:=]\s*["']?)([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi;
// Every name rule needs one of these words, and the auth schemes are two of them; written as a trie, which
// the regex engine scans faster than a flat list of words.
const WORD = /b(?:earer|asic)|p(?:ass|wd)|s(?:e(?:cret|ss)|i[dg])|token|key|auth|c(?:redential|ookie)/i;

/** Counts what was redacted, for the client's counters. */
export interface RedactionCount {
  values: number;
}

/** The string with secret-shaped parts (auth credentials, JWTs, URL passwords, keys) and values after secret names replaced. */
export function redactString(text: string, count?: RedactionCount): string {
  if (text.length < 5) return text;
  // Cheap checks first: most strings (messages, stack traces) hold no word and no mark, and leave here.
  const word = WORD.test(text);
  if (!word && !hasMark(text)) return text;
  const named = word && (text.includes("=") || text.includes(":"));
  let changed = 0;
  let out = text;
  if (named) {
    // JSON fields and `name: value` first: a whole value goes, so the shape rules find nothing left in it to count.
    out = out
      .replace(JSON_FIELD, (whole, key: string, colon: string, value: string) => {
        if (value === "" || value === REDACTED || !SECRET_KEY.test(key)) return whole;
        changed++;
        return `"${key}"${colon}"${REDACTED}"`;
      })
      .replace(COLON, (whole, before: string, name: string, colon: string, quote: string, value: string) => {
        if (!COLON_NAME.test(name) || value === REDACTED) return whole;
        changed++;
        return `${before}${name}${colon}${quote}${REDACTED}`;
      })
      .replace(AWS_SECRET, (_, head: string) => (changed++, `${head}${REDACTED}`));
  }
  out = redactShapes(out, () => void changed++);
  if (named) {
    out = out.replace(PARAM, (whole, before: string, name: string, value: string) => {
      if (!SECRET_PARAM.test(name) || value.startsWith(REDACTED)) return whole;
      changed++;
      return `${before}${name}${REDACTED}`;
    });
  }
  if (count) count.values += changed;
  return out;
}

/**
 * One line of source code with secret shapes replaced in place (a URL's password, `sk_live_` keys, bearer
 * credentials, JWTs, AWS key ids): never a line added or removed, so line numbers stay true. Name rules
 * (`password: x`, `token=`) are left out: in code they match declarations and types, not secrets.
 */
export function redactSourceLine(line: string): string {
  return line.length < 5 || !mayHoldShape(line) ? line : redactShapes(line, () => undefined);
}

function redactShapes(text: string, counted: () => void): string {
  if (!mayHoldShape(text)) return text;
  return text
    .replace(AUTH_SCHEME, (whole, scheme: string, credential: string) => {
      // "basic understanding": a lowercase scheme before a plain lowercase word is prose, not Basic auth.
      if ((scheme === "basic" && /^[a-z]+$/.test(credential)) || credential.startsWith(REDACTED)) return whole;
      counted();
      return `${scheme} ${REDACTED}`;
    })
    .replace(JWT, () => (counted(), REDACTED))
    .replace(URL_USERINFO, (_, head: string) => (counted(), `${head}${REDACTED}@`))
    .replace(LIVE_KEY, () => (counted(), REDACTED))
    .replace(AWS_KEY_ID, () => (counted(), REDACTED));
}

/** False when no shape can match: each needs "@", "eyJ", "k_live_"/"k_test_", "AKIA"/"ASIA" or an auth scheme's name. */
function mayHoldShape(text: string): boolean {
  return hasMark(text) || AUTH_NAME.test(text);
}

/** The case-sensitive marks of the shapes; plain searches, far cheaper than any regex. */
function hasMark(text: string): boolean {
  return (
    text.includes("@") ||
    text.includes("eyJ") ||
    text.includes("k_live_") ||
    text.includes("k_test_") ||
    text.includes("AKIA") ||
    text.includes("ASIA")
  );
}

/**
 * A copy of JSON-safe data (as made by toSafeJson) with secret-looking values redacted: every string
 * under a secret-looking key, and secret-shaped parts of every string.
 */
export function redact(value: unknown, count?: RedactionCount, depth = 0): unknown {
  if (typeof value === "string") return redactString(value, count);
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (Array.isArray(value)) {
    // toSafeJson turns a Map into [key, value] pairs: a pair under a secret-looking key is redacted like a field.
    if (value.length === 2 && typeof value[0] === "string" && KEY_LIKE.test(value[0]) && SECRET_KEY.test(value[0])) {
      return [value[0], redactSecret(value[1], count, depth + 1)];
    }
    return value.map((item) => redact(item, count, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? redactSecret(item, count, depth + 1) : redact(item, count, depth + 1);
  }
  return out;
}

/** A Map key, not prose: a pair whose first element is a sentence ("password reset requested") is data. */
const KEY_LIKE = /^[A-Za-z0-9_.$@:[\]-]{1,64}$/;

/**
 * A value under a secret-looking key: every non-empty string in it becomes `[REDACTED]`; numbers, booleans
 * and null keep their type (`token.count: 3`, `has_password: false` would misindex as strings).
 */
export function redactSecret(value: unknown, count?: RedactionCount, depth = 0): unknown {
  if (typeof value === "string") {
    if (value === "") return value;
    if (count) count.values++;
    return REDACTED;
  }
  if (typeof value !== "object" || value === null || depth > 64) return value;
  if (Array.isArray(value)) return value.map((item) => redactSecret(item, count, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactSecret(item, count, depth + 1);
  return out;
}
