// Receiver options: the type, the defaults in one object, and `resolveOptions`, which throws on bad values.
import { ReceiverError } from "./errors.js";

export interface ReceiverOptions {
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Interface to listen on. */
  host?: string;
  /** SQLite file; ":memory:" keeps everything in memory (nothing survives a restart). */
  db?: string;
  /** When set, only this token is accepted; otherwise any token (or none) is. */
  token?: string;
  /** Largest request body accepted, in bytes (the whole body, multipart included). */
  maxBody?: number;
  /** Receives one line per submission and per rejected request. */
  log?: (line: string) => void;
  /** Host names accepted in the Host header besides the listening address, localhost, 127.0.0.1 and [::1]; ".example.com" also takes its subdomains. */
  allowedHosts?: string[];
  /** Web origins (such as "http://localhost:3000") whose pages may submit reports; every other page's POST is refused. */
  allowOrigins?: string[];
  /** When set, the viewer, the JSON API and downloads need it: HTTP Basic (any user name, this as password) or a Bearer token. */
  viewerToken?: string;
  /** Listen on a non-loopback address without `viewerToken`, leaving every report readable from the network. */
  allowUnprotected?: boolean;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  db: string;
  token: string | undefined;
  maxBody: number;
  log: (line: string) => void;
  /** Lower-cased host names (no port). */
  allowedHosts: string[];
  /** Normalized origins, e.g. "http://localhost:3000". */
  allowOrigins: string[];
  viewerToken: string | undefined;
  allowUnprotected: boolean;
}

export const defaults = {
  /** Backtrace's own plain-HTTP listener port, so client endpoints work unchanged. */
  port: 6097,
  /** Loopback only: the viewer has no login. */
  host: "127.0.0.1",
  /** In the directory the receiver is started from. */
  db: "backtrace-reports.sqlite",
  /** 10 MiB, the size hinted at by Backtrace's own clients. */
  maxBody: 10 * 1024 * 1024,
  /** Quiet unless the caller asks for lines (the command line prints them). */
  log: (_line: string): void => {},
  /** Only loopback names and the listening address; anything else may be a DNS-rebinding page. */
  allowedHosts: [] as readonly string[],
  /** No web page may submit: Node and Python clients send no Origin. */
  allowOrigins: [] as readonly string[],
} as const;

/** True for addresses only this machine can reach; any other interface makes the reports readable from the network. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) || bare === "::ffff:127.0.0.1";
}

function hostName(entry: unknown): string {
  if (typeof entry !== "string" || !/^\.?[a-z0-9_.:\[\]-]+$/i.test(entry.trim()) || /^\.?$/.test(entry.trim())) {
    throw new ReceiverError("BAD_OPTION", `allowedHosts (--allowed-hosts) entries must be host names such as receiver.local or .example.test, got ${JSON.stringify(entry)}`);
  }
  return entry.trim().toLowerCase().replace(/^\[|\]$/g, "");
}

function origin(entry: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof entry === "string" ? new URL(entry.trim()) : undefined;
  } catch {
    url = undefined;
  }
  // An origin is scheme, host and port only; a path would suggest the flag was misunderstood.
  if (!url || !/^https?:$/.test(url.protocol) || `${url.origin}/` !== url.href.replace(/\/?$/, "/") || url.username || url.password) {
    throw new ReceiverError("BAD_OPTION", `allowOrigins (--allow-origin) entries must be origins such as http://localhost:3000, got ${JSON.stringify(entry)}`);
  }
  return url.origin;
}

/** Fills in defaults and checks every value; throws `ReceiverError` with code BAD_OPTION. */
export function resolveOptions(options: ReceiverOptions = {}): ResolvedOptions {
  const port = options.port ?? defaults.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ReceiverError("BAD_OPTION", `port must be an integer from 0 to 65535, got ${String(options.port)}`);
  }
  const host = options.host ?? defaults.host;
  if (typeof host !== "string" || host.length === 0) throw new ReceiverError("BAD_OPTION", "host must be a non-empty string");
  const db = options.db ?? defaults.db;
  if (typeof db !== "string" || db.length === 0) throw new ReceiverError("BAD_OPTION", "db must be a non-empty path");
  const token = options.token;
  if (token !== undefined && (typeof token !== "string" || token.length === 0)) {
    throw new ReceiverError("BAD_OPTION", "token must be a non-empty string when given");
  }
  const maxBody = options.maxBody ?? defaults.maxBody;
  if (!Number.isSafeInteger(maxBody) || maxBody < 1) {
    throw new ReceiverError("BAD_OPTION", `maxBody must be a positive whole number of bytes, got ${String(options.maxBody)}`);
  }
  const log = options.log ?? defaults.log;
  if (typeof log !== "function") throw new ReceiverError("BAD_OPTION", "log must be a function");
  const viewerToken = options.viewerToken;
  if (viewerToken !== undefined && (typeof viewerToken !== "string" || viewerToken.length === 0)) {
    throw new ReceiverError("BAD_OPTION", "viewerToken must be a non-empty string when given");
  }
  const allowUnprotected = options.allowUnprotected ?? false;
  if (typeof allowUnprotected !== "boolean") throw new ReceiverError("BAD_OPTION", "allowUnprotected must be true or false");
  if (!isLoopbackHost(host) && viewerToken === undefined && !allowUnprotected) {
    throw new ReceiverError(
      "BAD_OPTION",
      `refusing to listen on ${host} without a viewer token: every report would be readable from the network. ` +
        "Set --viewer-token <secret>, or pass --allow-unprotected to do it anyway",
    );
  }
  const list = (name: string, value: unknown): unknown[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new ReceiverError("BAD_OPTION", `${name} must be a list of strings`);
    return value;
  };
  const allowedHosts = list("allowedHosts", options.allowedHosts ?? defaults.allowedHosts).map(hostName);
  const allowOrigins = list("allowOrigins", options.allowOrigins ?? defaults.allowOrigins).map(origin);
  return { port, host, db, token, maxBody, log, allowedHosts, allowOrigins, viewerToken, allowUnprotected };
}
