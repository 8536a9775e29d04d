// Public names of backtrace-ts, and the module-level API that works through one default client.
import { BacktraceClient, type SendOptions } from "./client.js";
import type { BacktraceOptions } from "./options.js";
import { ErrorCodes } from "./errors.js";
import { BacktraceReport, setDefaultSender, type SendOutcome } from "./report.js";

export { BacktraceClient } from "./client.js";
export type { SendOptions, ClientCounters } from "./client.js";
export { BacktraceReport } from "./report.js";
export type { SendOutcome, ErrorType, LogLine } from "./report.js";
export { BacktraceError, BacktraceConfigError, ErrorCodes, isBacktraceError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { defaults } from "./options.js";
export type { BacktraceOptions, BeforeSendReport } from "./options.js";
export { AGENT, VERSION } from "./version.js";
export type { ReportBody, WireFrame, WireThread, SourceCodeEntry, Attributes, AttributeValue } from "./body.js";

let defaultClient: BacktraceClient | undefined;
let warned = false;

/**
 * Sets up the default client used by the module-level calls. Throws a `BacktraceConfigError` at once
 * for bad options. Called again, it replaces the default client (the old one finishes in the background).
 */
export function initialize(options: BacktraceOptions): BacktraceClient {
  const client = new BacktraceClient(options);
  const previous = defaultClient;
  defaultClient = client;
  setDefaultSender(client);
  if (previous) void previous.finalize();
  return client;
}

/** The default client, or undefined before `initialize`. */
export function getClient(): BacktraceClient | undefined {
  return defaultClient;
}

function notInitialized(report: BacktraceReport): Promise<SendOutcome> {
  if (!warned) {
    warned = true;
    process.emitWarning("backtrace-ts: a report was made before initialize() and was dropped", { code: ErrorCodes.NOT_INITIALIZED });
  }
  return Promise.resolve({ status: "dropped", uuid: report.uuid, reason: "backtrace-ts is not initialized" });
}

/** Reports a caught error through the default client. Returns at once. */
export function sendException(error: unknown, options?: SendOptions): Promise<SendOutcome> {
  if (!defaultClient) return notInitialized(new BacktraceReport());
  return defaultClient.sendException(error, options);
}

/** Reports a message, with the caller's stack, through the default client. Returns at once. */
export function sendReport(message: string, options?: SendOptions): Promise<SendOutcome> {
  if (!defaultClient) return notInitialized(new BacktraceReport());
  return defaultClient.sendReport(message, options);
}

/** Waits for pending reports of the default client, at most `timeout` seconds (default `exitTimeout`). */
export async function flush(timeout?: number): Promise<boolean> {
  return defaultClient ? defaultClient.flush(timeout) : true;
}

/** Sends what is pending (bounded by `exitTimeout`) and removes every hook the default client installed. */
export async function finalize(): Promise<void> {
  const client = defaultClient;
  defaultClient = undefined;
  setDefaultSender(undefined);
  await client?.finalize();
}
