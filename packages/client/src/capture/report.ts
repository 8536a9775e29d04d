// BacktraceReport: one report the application fills in and sends (or drops).
import { randomUUID } from "node:crypto";
import type { SendOutcome } from "../outcome.js";


/** How a report came to be; sent as the `error.type` attribute. */
export type ErrorType = "Exception" | "Unhandled exception" | "Unhandled rejection" | "Message";

/** Anything that can send a report: a `BacktraceClient`. */
export interface ReportSender {
  send(report: BacktraceReport): Promise<SendOutcome>;
}

export interface LogLine {
  /** Seconds since the epoch, with milliseconds. */
  ts: number;
  msg: unknown;
}

/** At most this many log lines are kept per report; older ones are dropped and counted. */
export const MAX_LOG_LINES = 1000;

// The default client lives on globalThis, so that an application loading both the ES module and the
// CommonJS build (itself, and a dependency through the other) still has one default client.
const SHARED = Symbol.for("backtrace-ts.default-client");
interface Shared {
  sender: ReportSender | undefined;
  warned: boolean;
}
function shared(): Shared {
  const holder = globalThis as { [SHARED]?: Shared };
  return (holder[SHARED] ??= { sender: undefined, warned: false });
}

/** Used by the module-level API to make `new BacktraceReport().send()` go through the default client. */
export function setDefaultSender(sender: ReportSender | undefined): void {
  shared().sender = sender;
}

/** The default client set by `initialize`, whichever build of the package set it. */
export function getDefaultSender(): ReportSender | undefined {
  return shared().sender;
}

/** The outcome of a report made before `initialize`, with a one-time process warning. */
export function notInitialized(uuid: string): Promise<SendOutcome> {
  const state = shared();
  if (!state.warned) {
    state.warned = true;
    process.emitWarning("backtrace-ts: a report was made before initialize() and was dropped", { code: "BT_NOT_INITIALIZED" });
  }
  return Promise.resolve({ status: "dropped", uuid, reason: "not-initialized" });
}

export class BacktraceReport {
  /** The report's id, kept through retries and the spool so a server can drop duplicates. */
  readonly uuid: string = randomUUID();
  /** When the report was created, in whole seconds since the epoch. */
  readonly timestamp: number = Math.floor(Date.now() / 1000);
  /** @internal */ errorType: ErrorType = "Message";
  /** @internal */ error: unknown = undefined;
  /** @internal */ hasError = false;
  /** @internal */ message: string | undefined = undefined;
  /** @internal The stack of the place a message report was made, captured lazily by V8. */
  callSite: { stack?: string } | undefined = undefined;
  /** @internal */ droppedLogLines = 0;
  /** @internal Keys or values that could not be read (throwing getters, revoked proxies) and were skipped. */
  skippedInputs = 0;
  /** @internal */ readonly logLines: LogLine[] = [];
  private readonly attributes: Record<string, unknown> = {};
  private readonly annotations: Record<string, unknown> = {};
  private readonly attachments: string[] = [];
  private readonly sender: ReportSender | undefined;

  /** A report for `client`, or for the default client set up by `initialize`. */
  constructor(client?: ReportSender) {
    this.sender = client;
  }

  /** Sets an indexed attribute. Strings, numbers and booleans stay attributes; objects move to annotations; null and undefined are dropped. */
  setAttribute(key: string, value: unknown): this {
    this.put(this.attributes, key, () => value);
    return this;
  }

  /** Sets every key of `values` as an attribute. */
  setDictAttributes(values: Record<string, unknown>): this {
    this.putAll(this.attributes, values);
    return this;
  }

  /** The attributes set on this report so far (a copy). */
  getAttributes(): Record<string, unknown> {
    return { ...this.attributes };
  }

  /** Sets a free-form annotation: any value, made JSON-safe when the report is sent. */
  setAnnotation(key: string, value: unknown): this {
    this.put(this.annotations, key, () => value);
    return this;
  }

  /** Sets every key of `values` as an annotation. */
  setDictAnnotations(values: Record<string, unknown>): this {
    this.putAll(this.annotations, values);
    return this;
  }

  // Whatever the application passes, these never throw: what cannot be read is skipped and counted.
  private put(into: Record<string, unknown>, key: unknown, value: () => unknown): void {
    try {
      into[typeof key === "string" ? key : String(key)] = value();
    } catch {
      this.skippedInputs++;
    }
  }

  private putAll(into: Record<string, unknown>, values: unknown): void {
    if (!values || typeof values !== "object") return;
    let keys: string[];
    try {
      keys = Object.keys(values);
    } catch {
      this.skippedInputs++;
      return;
    }
    for (const key of keys) this.put(into, key, () => (values as Record<string, unknown>)[key]);
  }

  /** The annotations set on this report so far (a copy). */
  getAnnotations(): Record<string, unknown> {
    return { ...this.annotations };
  }

  /** Attaches a file by path; it is read when the report is sent, and skipped if missing then. */
  addAttachment(path: string): this {
    if (typeof path !== "string" || path === "") this.skippedInputs++;
    else if (!this.attachments.includes(path)) this.attachments.push(path);
    return this;
  }

  /** The paths attached to this report (a copy). */
  getAttachments(): string[] {
    return [...this.attachments];
  }

  /** Makes this an error report about `error` (any thrown value). */
  setException(error: unknown, errorType: ErrorType = "Exception"): this {
    this.error = error;
    this.hasError = true;
    this.errorType = errorType;
    return this;
  }

  /** Adds a timestamped line to the report's `Log` annotation. */
  log(line: unknown): this {
    if (this.logLines.length >= MAX_LOG_LINES) {
      this.logLines.shift();
      this.droppedLogLines++;
    }
    this.logLines.push({ ts: Date.now() / 1000, msg: line });
    return this;
  }

  /** Sends the report in the background; resolves to the outcome and never rejects. */
  send(): Promise<SendOutcome> {
    const sender = this.sender ?? getDefaultSender();
    if (!sender) {
      return notInitialized(this.uuid);
    }
    return sender.send(this);
  }
}
