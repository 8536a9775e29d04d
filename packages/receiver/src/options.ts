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
}

export interface ResolvedOptions {
  port: number;
  host: string;
  db: string;
  token: string | undefined;
  maxBody: number;
  log: (line: string) => void;
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
} as const;

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
  return { port, host, db, token, maxBody, log };
}
