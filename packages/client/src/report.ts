// BacktraceReport: one report the application fills in and sends (or drops).
import { randomUUID } from "node:crypto";
import type { SendOutcome } from "./delivery.js";

export type { SendOutcome };

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

let defaultSender: ReportSender | undefined;

/** Used by the module-level API to make `new BacktraceReport().send()` go through the default client. */
export function setDefaultSender(sender: ReportSender | undefined): void {
  defaultSender = sender;
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
    this.attributes[String(key)] = value;
    return this;
  }

  /** Sets every key of `values` as an attribute. */
  setDictAttributes(values: Record<string, unknown>): this {
    if (values && typeof values === "object") {
      for (const key of Object.keys(values)) this.setAttribute(key, values[key]);
    }
    return this;
  }

  /** The attributes set on this report so far (a copy). */
  getAttributes(): Record<string, unknown> {
    return { ...this.attributes };
  }

  /** Sets a free-form annotation: any value, made JSON-safe when the report is sent. */
  setAnnotation(key: string, value: unknown): this {
    this.annotations[String(key)] = value;
    return this;
  }

  /** Sets every key of `values` as an annotation. */
  setDictAnnotations(values: Record<string, unknown>): this {
    if (values && typeof values === "object") {
      for (const key of Object.keys(values)) this.setAnnotation(key, values[key]);
    }
    return this;
  }

  /** The annotations set on this report so far (a copy). */
  getAnnotations(): Record<string, unknown> {
    return { ...this.annotations };
  }

  /** Attaches a file by path; it is read when the report is sent, and skipped if missing then. */
  addAttachment(path: string): this {
    if (typeof path === "string" && path !== "" && !this.attachments.includes(path)) this.attachments.push(path);
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
    const sender = this.sender ?? defaultSender;
    if (!sender) {
      return Promise.resolve({ status: "dropped", uuid: this.uuid, reason: "backtrace-ts is not initialized" });
    }
    return sender.send(this);
  }
}
