// Public names of backtrace-ts, and the module-level API that works through one default client.
import { BacktraceClient, type SendOptions } from "./client.js";
import type { BacktraceOptions } from "./options.js";
import { BacktraceReport, getDefaultSender, notInitialized, setDefaultSender } from "./capture/report.js";
import type { SendOutcome } from "./outcome.js";

export { BacktraceClient } from "./client.js";
export type { SendOptions, ClientCounters } from "./client.js";
export { BacktraceReport } from "./capture/report.js";
export type { ErrorType, LogLine } from "./capture/report.js";
export type { SendOutcome, FailReason, DropReason, LossReason } from "./outcome.js";
export { BacktraceError, BacktraceConfigError, ErrorCodes, isBacktraceError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { defaults } from "./defaults.js";
export type { BacktraceOptions, BeforeSendReport } from "./options.js";
export { AGENT, VERSION } from "./version.js";
export type { ReportBody, WireFrame, WireThread, SourceCodeEntry, Attributes, AttributeValue } from "./body.js";

/** The default client; shared by the ES module and CommonJS builds through report.ts. */
const current = (): BacktraceClient | undefined => getDefaultSender() as BacktraceClient | undefined;

/**
 * Sets up the default client used by the module-level calls. Throws a `BacktraceConfigError` at once
 * for bad options. Called again, it replaces the default client (the old one finishes in the background).
 */
export function initialize(options: BacktraceOptions): BacktraceClient {
  const client = new BacktraceClient(options);
  const previous = current();
  setDefaultSender(client);
  if (previous) void previous.finalize();
  return client;
}

/** The default client, or undefined before `initialize`. */
export function getClient(): BacktraceClient | undefined {
  return current();
}

/** Reports a caught error through the default client. Returns at once. */
export function sendException(error: unknown, options?: SendOptions): Promise<SendOutcome> {
  const client = current();
  return client ? client.sendException(error, options) : notInitialized(new BacktraceReport().uuid);
}

/** Reports a message, with the caller's stack, through the default client. Returns at once. */
export function sendReport(message: string, options?: SendOptions): Promise<SendOutcome> {
  const client = current();
  return client ? client.sendReportFrom(sendReport, message, options) : notInitialized(new BacktraceReport().uuid);
}

/** Waits for pending reports of the default client, at most `timeout` seconds (default `exitTimeout`). */
export async function flush(timeout?: number): Promise<boolean> {
  return current()?.flush(timeout) ?? true;
}

/** Sends what is pending (bounded by `exitTimeout`) and removes every hook the default client installed. */
export async function finalize(): Promise<void> {
  const client = current();
  setDefaultSender(undefined);
  await client?.finalize();
}
