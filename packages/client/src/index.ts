// Public names of backtrace-ts, and the module-level API that works through one default client.
import { BacktraceClient, type SendOptions } from "./client.js";
import type { BacktraceOptions } from "./options.js";
import { BacktraceReport, getDefaultSender, notInitialized, setDefaultSender, type AttachmentData } from "./capture/report.js";
import { currentScope, runInScope, type Scope, type User } from "./capture/scope.js";
import type { BreadcrumbOptions } from "./capture/breadcrumbs.js";
import { defaults } from "./defaults.js";
import type { SendOutcome } from "./outcome.js";
import { blameVariable, withEnvOptions } from "./integrations/env.js";
import { takeCommandLine } from "./integrations/cli-handover.js";
import { loadCli, loadStallWatchdog } from "./integrations/lazy.js";
import { takeHandedOver } from "./process/stall-channel.js";

export { BacktraceClient } from "./client.js";
export type { SendOptions, ClientCounters } from "./client.js";
export { BacktraceReport } from "./capture/report.js";
export type { ErrorType, LogLine, AttachmentData } from "./capture/report.js";
export type { Scope, User } from "./capture/scope.js";
export type { Breadcrumb, BreadcrumbOptions, BreadcrumbLevel, BreadcrumbType } from "./capture/breadcrumbs.js";
export type { SendOutcome, FailReason, DropReason, LossReason } from "./outcome.js";
export { BacktraceError, BacktraceConfigError, ErrorCodes, isBacktraceError } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { defaults } from "./defaults.js";
export type { BacktraceOptions, BeforeSendReport, BreadcrumbSettings } from "./options.js";
export { AGENT, VERSION } from "./version.js";
export type { ReportBody, WireFrame, WireThread, SourceCodeEntry, Attributes, AttributeValue } from "./body.js";

// In the stall watchdog's thread (which loads this bundle again, see process/stall.ts) the watchdog runs; elsewhere nothing.
const handedOver = takeHandedOver();
if (handedOver !== undefined) loadStallWatchdog().runStallWatchdog(handedOver);
// Loaded by the `backtrace-ts` command's entry (dist/cli.mjs): the command runs.
if (takeCommandLine()) void loadCli().runCommandLine();

/** The default client; shared by the ES module and CommonJS builds through report.ts. */
const current = (): BacktraceClient | undefined => getDefaultSender() as BacktraceClient | undefined;

/**
 * Sets up the default client used by the module-level calls. Throws a `BacktraceConfigError` at once
 * for bad options. Called again, it replaces the default client (the old one finishes in the background).
 * Without an endpoint, the BACKTRACE_* environment variables fill in what `options` leaves out (see env.ts).
 */
export function initialize(options?: Partial<BacktraceOptions>): BacktraceClient {
  const { options: resolved, sources } = withEnvOptions(options);
  let client: BacktraceClient;
  try {
    client = new BacktraceClient(resolved);
  } catch (error) {
    throw blameVariable(error, sources);
  }
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

/** Records a breadcrumb on the default client (in the current scope when there is one). Ignored before `initialize`. */
export function addBreadcrumb(message: string, options?: BreadcrumbOptions): void {
  current()?.addBreadcrumb(message, options);
}

/** Runs `fn` in a scope of its own: see `BacktraceClient.withScope`. Before `initialize`, the scope is still made. */
export function withScope<T>(fn: (scope: Scope) => T): T {
  const client = current();
  if (client) return client.withScope(fn);
  const { maxEntries, maxMessageLength, maxAttributeDepth, maxBytes } = defaults.breadcrumbs;
  return runInScope({ maxEntries, maxMessageLength, maxAttributeDepth, maxBreadcrumbBytes: maxBytes }, fn);
}

/** The scope of the running async flow (one `withScope` opened, or a framework integration's request), if any. */
export function getCurrentScope(): Scope | undefined {
  return currentScope();
}

/** Sets an attribute of the default client, sent with every report made from now on. */
export function setAttribute(key: string, value: unknown): void {
  current()?.setAttribute(key, value);
}

/** Sets attributes of the default client. */
export function setAttributes(values: Record<string, unknown>): void {
  current()?.setAttributes(values);
}

/** The default client's attributes (empty before `initialize`). */
export function getAttributes(): Record<string, unknown> {
  return current()?.getAttributes() ?? {};
}

/** Removes an attribute of the default client. */
export function removeAttribute(key: string): void {
  current()?.removeAttribute(key);
}

/** Sets an annotation of the default client. */
export function setAnnotation(key: string, value: unknown): void {
  current()?.setAnnotation(key, value);
}

/** Sets the user of the default client's reports (`user.id`, `user.email`, `user.name`). */
export function setUser(user: User | null): void {
  current()?.setUser(user);
}

/** Attaches a file by path, or bytes under a file name, to every report of the default client. */
export function addAttachment(nameOrPath: string, data?: AttachmentData): void {
  const client = current();
  if (client) {
    if (data === undefined) client.addAttachment(nameOrPath);
    else client.addAttachment(nameOrPath, data);
  }
}
