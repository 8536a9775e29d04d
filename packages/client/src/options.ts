// The options of `initialize`, their checks, and the submission URL rules (their defaults are in defaults.ts).
import { readFileSync } from "node:fs";
import { lazyCrypto } from "./builtins.js";
import { defaults, deliveryDefaults, type ResolvedBreadcrumbs } from "./defaults.js";
import { BacktraceConfigError, ErrorCodes } from "./errors.js";
import { submissionUrlFor } from "./submission-url.js";
import { MAX_TIMER_MS } from "./timers.js";

/** What `beforeSend` sees; return `false`/`null` to drop the report. Declared here to keep imports one-way. */
export interface BeforeSendReport {
  readonly uuid: string;
  setAttribute(key: string, value: unknown): unknown;
  setAnnotation(key: string, value: unknown): unknown;
  getAttributes(): Record<string, unknown>;
  getAnnotations(): Record<string, unknown>;
}

/** Which automatic breadcrumbs are recorded, and their limits; `breadcrumbs: false` turns all of them off. */
export interface BreadcrumbSettings {
  /** console.log, info, warn, error and debug. */
  console?: boolean | undefined;
  /** Outgoing node:http/https requests and fetch: method, URL (secrets redacted), status, duration. */
  http?: boolean | undefined;
  /** Process warnings (`process.emitWarning`, deprecations). */
  warnings?: boolean | undefined;
  /** Breadcrumbs kept; older ones are overwritten. */
  maxEntries?: number | undefined;
  /** Characters kept of a message (and of a string attribute, times four). */
  maxMessageLength?: number | undefined;
  /** Levels of nested objects kept in a breadcrumb's attributes. */
  maxAttributeDepth?: number | undefined;
  /** Bytes of the whole attachment (and the most one breadcrumb may take). */
  maxBytes?: number | undefined;
}


export interface BacktraceOptions {
  /** Where reports go: `https://submit.backtrace.io/{universe}/{token}/json`, or a server such as `https://host:6098` used with `token`. */
  endpoint: string;
  /** Submission token; required unless the endpoint is a submit URL or already carries `token=`. */
  token?: string | undefined;
  /** Attributes sent with every report; objects and arrays move to annotations. */
  attributes?: Record<string, unknown> | undefined;
  /** Paths of files attached to every report. */
  attachments?: readonly string[] | undefined;
  /** Seconds a single submission may take before it counts as failed. */
  timeout?: number | undefined;
  /** Accept any TLS certificate (self-signed servers). Off by default. */
  ignoreSslCertificate?: boolean | undefined;
  /**
   * Forward proxy for reports: a URL such as `http://user:pass@proxy:3128`, or `false` to go direct whatever
   * the environment says. Default: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (lower case first) from the environment.
   */
  proxy?: string | false | undefined;
  /** Certificate authorities trusted besides Node's own: PEM text, or the path of a PEM file (read once, at initialize). */
  ca?: string | undefined;
  /** Print diagnostics to stderr and let errors during collection throw. */
  debugBacktrace?: boolean | undefined;
  /** Do not report uncaught exceptions and unhandled rejections automatically. */
  disableGlobalHandler?: boolean | undefined;
  /** Lines of source above and below each frame. */
  contextLineCount?: number | undefined;
  /** Spaces a hard tab stands for in the viewer. */
  tabWidth?: number | undefined;
  /** Send source code around each frame. */
  collectSourceCode?: boolean | undefined;
  /** Seconds the process may wait at exit (or at a crash) for pending reports. */
  exitTimeout?: number | undefined;
  /** Map compiled frames to the original TypeScript through source maps. */
  sourceMaps?: boolean | undefined;
  /** Edit a report before it is sent, or return false/null to drop it. */
  beforeSend?: ((report: BeforeSendReport) => BeforeSendReport | boolean | null | undefined | void) | undefined;
  /** Folder of the on-disk spool, or false to keep no spool. Default: a per-user cache folder keyed by endpoint. */
  spool?: string | false | undefined;
  /** At most this many reports wait in the spool; older ones are dropped and counted. */
  spoolMaxRecords?: number | undefined;
  /** At most this many bytes of reports wait in the spool. */
  spoolMaxBytes?: number | undefined;
  /** Byte budget of one report body; larger reports are trimmed in a fixed order. */
  maxReportBytes?: number | undefined;
  /** Reports that may wait in memory before new ones go to the spool. */
  queueSize?: number | undefined;
  /** Reports sent at once (and so TCP connections used). */
  concurrency?: number | undefined;
  /** Automatic breadcrumbs and their limits, or false for none (manual ones are then kept too). */
  breadcrumbs?: BreadcrumbSettings | false | undefined;
  /** `Error.stackTraceLimit` set at initialize, when the application left Node's default of 10. */
  stackTraceLimit?: number | undefined;
  /** Bytes of in-memory attachments per report. */
  maxAttachmentBytes?: number | undefined;
  /** Report out-of-memory and other fatal errors through Node's diagnostic report, sent at the next start (needs the spool). */
  fatalErrorReports?: boolean | undefined;
  /** Seconds the main thread's event loop may be blocked before an `EventLoopStall` report; 0 (the default) is off. */
  stallThreshold?: number | undefined;
  /** Count a report with the fingerprint of one still waiting to be built in that one (`_mod_duplicate`) instead of building it. */
  aggregateDuplicates?: boolean | undefined;
  /**
   * Seconds a report that may take duplicates waits before it is built (default 0.1), so that the same error thrown
   * again meanwhile is counted in it; 0 builds at once. Flush, finalize and exit never wait for it. Only with `aggregateDuplicates`.
   */
  aggregateWindow?: number | undefined;
  /** Reports per minute at most; 0 (the default) is off. What it drops is counted (`rate-limited`). */
  rateLimit?: number | undefined;
  /** Share of reports sent, 0 to 1 (default 1); the rest are dropped and counted (`sampled-out`). */
  sampleRate?: number | undefined;
}

export interface ResolvedOptions {
  endpoint: string;
  /** The URL reports are posted to (holds the token: never print it, use `redactUrl`). */
  submissionUrl: string;
  attributes: Record<string, unknown>;
  attachments: string[];
  timeout: number;
  ignoreSslCertificate: boolean;
  /** The `proxy` option as given (undefined: the environment decides, per request URL, in transport/proxy.ts). */
  proxy: string | false | undefined;
  /** PEM text of the `ca` option, the file already read. */
  ca: string | undefined;
  debugBacktrace: boolean;
  disableGlobalHandler: boolean;
  contextLineCount: number;
  tabWidth: number;
  collectSourceCode: boolean;
  exitTimeout: number;
  sourceMaps: boolean;
  beforeSend: BacktraceOptions["beforeSend"];
  spool: string | false | undefined;
  spoolMaxRecords: number;
  spoolMaxBytes: number;
  maxReportBytes: number;
  queueSize: number;
  concurrency: number;
  breadcrumbs: ResolvedBreadcrumbs | false;
  stackTraceLimit: number;
  maxAttachmentBytes: number;
  fatalErrorReports: boolean;
  /** Seconds; 0 when the stall watchdog is off. */
  stallThreshold: number;
  aggregateDuplicates: boolean;
  /** Seconds. */
  aggregateWindow: number;
  /** Reports per minute; 0 is off. */
  rateLimit: number;
  sampleRate: number;
}

/** Node timers hold at most 2^31-1 ms; longer waits would fire at once. */
const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

const knownOptions = new Set([
  "endpoint", "token", "attributes", "attachments", "timeout", "ignoreSslCertificate", "proxy", "ca", "debugBacktrace",
  "disableGlobalHandler", "contextLineCount", "tabWidth", "collectSourceCode", "exitTimeout", "sourceMaps",
  "beforeSend", "spool", "spoolMaxRecords", "spoolMaxBytes", "maxReportBytes", "queueSize", "concurrency",
  "breadcrumbs", "stackTraceLimit", "maxAttachmentBytes", "fatalErrorReports", "stallThreshold",
  "aggregateDuplicates", "aggregateWindow", "rateLimit", "sampleRate",
]);

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function fail(code: (typeof ErrorCodes)[keyof typeof ErrorCodes], option: string, message: string): never {
  throw new BacktraceConfigError(code, option, message);
}

function number(
  input: Record<string, unknown>,
  name: keyof typeof defaults,
  rule: { min: number; integer?: boolean; exclusiveMin?: boolean; max?: number },
): number {
  const value = input[name];
  if (value === undefined) return defaults[name] as number;
  const bad =
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    (rule.exclusiveMin ? value <= rule.min : value < rule.min) ||
    (rule.max !== undefined && value > rule.max) ||
    (rule.integer === true && !Number.isInteger(value));
  if (bad) {
    const bound = rule.max !== undefined ? ` and at most ${rule.max}` : "";
    const want = `${rule.integer ? "an integer" : "a number"} ${rule.exclusiveMin ? "greater than" : "of at least"} ${rule.min}${bound}`;
    fail(ErrorCodes.INVALID_NUMBER, name, `backtrace-ts: option "${name}" must be ${want}, got ${describe(value)}.`);
  }
  return value;
}

function boolean(input: Record<string, unknown>, name: keyof typeof defaults): boolean {
  const value = input[name];
  if (value === undefined) return defaults[name] as boolean;
  if (typeof value !== "boolean") {
    fail(ErrorCodes.INVALID_OPTION, name, `backtrace-ts: option "${name}" must be true or false, got ${describe(value)}.`);
  }
  return value;
}

const breadcrumbSwitches = ["console", "http", "warnings"] as const;
const breadcrumbLimits = { maxEntries: 1, maxMessageLength: 16, maxAttributeDepth: 0, maxBytes: 1024 } as const;

function breadcrumbSettings(value: unknown): ResolvedBreadcrumbs | false {
  if (value === false) return false;
  const base = defaults.breadcrumbs;
  if (value === undefined || value === true) return { ...base };
  if (!isPlainObject(value)) {
    fail(ErrorCodes.INVALID_OPTION, "breadcrumbs", `backtrace-ts: option "breadcrumbs" must be false or an object such as { console: false }, got ${describe(value)}.`);
  }
  const known = new Set<string>([...breadcrumbSwitches, ...Object.keys(breadcrumbLimits)]);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) fail(ErrorCodes.UNKNOWN_OPTION, `breadcrumbs.${key}`, `backtrace-ts: unknown option "breadcrumbs.${key}".`);
  }
  const out: ResolvedBreadcrumbs = { ...base };
  for (const key of breadcrumbSwitches) {
    const on = value[key];
    if (on === undefined) continue;
    if (typeof on !== "boolean") fail(ErrorCodes.INVALID_OPTION, `breadcrumbs.${key}`, `backtrace-ts: option "breadcrumbs.${key}" must be true or false, got ${describe(on)}.`);
    out[key] = on;
  }
  for (const [key, min] of Object.entries(breadcrumbLimits) as [keyof typeof breadcrumbLimits, number][]) {
    const limit = value[key];
    if (limit === undefined) continue;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < min) {
      fail(ErrorCodes.INVALID_NUMBER, `breadcrumbs.${key}`, `backtrace-ts: option "breadcrumbs.${key}" must be an integer of at least ${min}, got ${describe(limit)}.`);
    }
    out[key] = limit;
  }
  return out;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "undefined") return String(value);
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The `proxy` option: undefined, false, or an http(s) URL with a host. The value is never echoed: it may hold a password. */
function proxyOption(value: unknown): string | false | undefined {
  if (value === undefined || value === false) return value;
  let url: URL | undefined;
  try {
    url = typeof value === "string" ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    fail(ErrorCodes.INVALID_OPTION, "proxy", 'backtrace-ts: option "proxy" must be an http:// or https:// URL such as "http://proxy:3128", or false.');
  }
  return url.href;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The `ca` option as PEM text: given as text, or read from the file it names. Every certificate in it must parse. */
function caOption(value: unknown, readFile: (path: string) => string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    fail(ErrorCodes.INVALID_OPTION, "ca", `backtrace-ts: option "ca" must be PEM certificates or the path of a PEM file, got ${describe(value)}.`);
  }
  let pem = value;
  if (!value.includes("-----BEGIN")) {
    try {
      pem = readFile(value);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      fail(ErrorCodes.INVALID_OPTION, "ca", `backtrace-ts: option "ca": the file ${JSON.stringify(value)} could not be read (${typeof code === "string" ? code : "error"}).`);
    }
  }
  const certificates = pem.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) fail(ErrorCodes.INVALID_OPTION, "ca", 'backtrace-ts: option "ca" holds no PEM certificate ("-----BEGIN CERTIFICATE-----").');
  for (const certificate of certificates) {
    try {
      new (lazyCrypto().X509Certificate)(certificate);
    } catch {
      fail(ErrorCodes.INVALID_OPTION, "ca", 'backtrace-ts: option "ca" holds a certificate that does not parse.');
    }
  }
  return certificates.join("\n") + "\n";
}

/**
 * Checks every option and fills in defaults. Throws a `BacktraceConfigError` naming what to fix.
 * `readFile` reads the `ca` file; defaulted so tests need no file system tricks.
 */
export function resolveOptions(options: unknown, readFile: (path: string) => string = (path) => readFileSync(path, "utf8")): ResolvedOptions {
  if (!isPlainObject(options)) {
    fail(
      ErrorCodes.INVALID_OPTION,
      "options",
      `backtrace-ts: initialize expects an options object such as { endpoint, token }, got ${describe(options)}.`,
    );
  }
  for (const name of Object.keys(options)) {
    if (knownOptions.has(name)) continue;
    const hint = knownOptions.has(camel(name)) ? ` Did you mean "${camel(name)}"?` : "";
    fail(ErrorCodes.UNKNOWN_OPTION, name, `backtrace-ts: unknown option "${name}".${hint}`);
  }
  const token = options["token"];
  if (token !== undefined && (typeof token !== "string" || token.trim() === "" || /\s/.test(token))) {
    fail(ErrorCodes.INVALID_OPTION, "token", "backtrace-ts: option \"token\" must be a non-empty string without spaces.");
  }
  const endpoint = options["endpoint"];
  const submissionUrl = submissionUrlFor(endpoint, token as string | undefined);

  const attributes = options["attributes"] ?? {};
  if (!isPlainObject(attributes)) {
    fail(ErrorCodes.INVALID_OPTION, "attributes", `backtrace-ts: option "attributes" must be a plain object of name to value, got ${describe(attributes)}.`);
  }
  const attachments = options["attachments"] ?? [];
  if (!Array.isArray(attachments) || attachments.some((path) => typeof path !== "string" || path === "")) {
    fail(ErrorCodes.INVALID_OPTION, "attachments", "backtrace-ts: option \"attachments\" must be an array of file paths (strings).");
  }
  const beforeSend = options["beforeSend"];
  if (beforeSend !== undefined && typeof beforeSend !== "function") {
    fail(ErrorCodes.INVALID_OPTION, "beforeSend", `backtrace-ts: option "beforeSend" must be a function, got ${describe(beforeSend)}.`);
  }
  const spool = options["spool"];
  if (spool !== undefined && spool !== false && (typeof spool !== "string" || spool === "")) {
    fail(ErrorCodes.INVALID_OPTION, "spool", "backtrace-ts: option \"spool\" must be a folder path or false.");
  }

  return {
    endpoint: endpoint as string,
    submissionUrl,
    attributes: { ...attributes },
    attachments: [...(attachments as string[])],
    timeout: number(options, "timeout", { min: 0, exclusiveMin: true, max: MAX_SECONDS }),
    ignoreSslCertificate: boolean(options, "ignoreSslCertificate"),
    proxy: proxyOption(options["proxy"]),
    ca: caOption(options["ca"], readFile),
    debugBacktrace: boolean(options, "debugBacktrace"),
    disableGlobalHandler: boolean(options, "disableGlobalHandler"),
    contextLineCount: number(options, "contextLineCount", { min: 0, integer: true }),
    tabWidth: number(options, "tabWidth", { min: 1, integer: true }),
    collectSourceCode: boolean(options, "collectSourceCode"),
    exitTimeout: number(options, "exitTimeout", { min: 0, max: MAX_SECONDS }),
    sourceMaps: boolean(options, "sourceMaps"),
    beforeSend: beforeSend as ResolvedOptions["beforeSend"],
    spool: spool as string | false | undefined,
    spoolMaxRecords: number(options, "spoolMaxRecords", { min: 1, integer: true }),
    spoolMaxBytes: number(options, "spoolMaxBytes", { min: 1024, integer: true }),
    maxReportBytes: number(options, "maxReportBytes", { min: 4096, integer: true }),
    queueSize: number(options, "queueSize", { min: 1, integer: true }),
    concurrency: number(options, "concurrency", { min: 1, max: deliveryDefaults.maxConcurrency, integer: true }),
    breadcrumbs: breadcrumbSettings(options["breadcrumbs"]),
    stackTraceLimit: number(options, "stackTraceLimit", { min: 1, max: 10_000, integer: true }),
    maxAttachmentBytes: number(options, "maxAttachmentBytes", { min: 0, integer: true }),
    fatalErrorReports: boolean(options, "fatalErrorReports"),
    stallThreshold: number(options, "stallThreshold", { min: 0, max: MAX_SECONDS }),
    aggregateDuplicates: boolean(options, "aggregateDuplicates"),
    aggregateWindow: number(options, "aggregateWindow", { min: 0, max: 60 }),
    rateLimit: number(options, "rateLimit", { min: 0, integer: true }),
    sampleRate: number(options, "sampleRate", { min: 0, max: 1 }),
  };
}
