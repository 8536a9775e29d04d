// BacktraceReport: one report the application fills in and sends (or drops).
import { lazyCrypto } from "../builtins.js";
import type { SendOutcome } from "../outcome.js";
import type { AttachmentRef } from "../payload.js";
import type { WireThread } from "../body.js";
import type { Breadcrumb } from "./breadcrumbs.js";
import { currentScope, scopeChain, type Scope } from "./scope.js";

/** How a report came to be; sent as the `error.type` attribute. */
export type ErrorType = "Exception" | "Unhandled exception" | "Unhandled rejection" | "Message" | "Crash" | "Hang";

/** Anything that can send a report: a `BacktraceClient`. */
export interface ReportSender {
  send(report: BacktraceReport): Promise<SendOutcome>;
  /** @internal What a new report of this sender starts with. */
  reportContext?(): ReportContext;
}

/** @internal A client's state that a report takes when it is made. */
export interface ReportContext {
  /** Client attributes set after initialize; undefined marks one removed. Replaced, never changed in place. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Client annotations; replaced, never changed in place. */
  readonly annotations: Readonly<Record<string, unknown>>;
  /** Attachments added to the client after initialize. */
  readonly attachments: readonly AttachmentRef[];
  /** The default and `initialize` attributes, made only when `getAttributes()` asks. */
  baseAttributes(): Record<string, unknown>;
}

/** In-memory attachment data as the application may pass it. */
export type AttachmentData = Buffer | Uint8Array | string;

// Reports the client makes for its own calls take their stack from the error or from the caller
// of the public call; only reports the application makes itself capture where they were made.
let captureWhereMade = true;

/** @internal A report made by the client itself: no stack of where it was made. */
export function internalReport(sender: ReportSender): BacktraceReport {
  captureWhereMade = false;
  try {
    return new BacktraceReport(sender);
  } finally {
    captureWhereMade = true;
  }
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
  readonly uuid: string = lazyCrypto().randomUUID();
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
  /** @internal Attachments held in memory, by name. */
  readonly dataAttachments: { name: string; data: Buffer }[] = [];
  private readonly sender: ReportSender | undefined;
  /** @internal The client's attributes and annotations when the report was made. */
  readonly context: ReportContext | undefined;
  /** @internal The scope the report was made in (its breadcrumbs are taken when it is handed to the client). */
  readonly scope: Scope | undefined;
  /** @internal The scope chain's attributes and annotations when the report was made (a scope may change before it is built). */
  private scopeValues: { attributes: Record<string, unknown>; annotations: Record<string, unknown> } | undefined = undefined;
  /** @internal The chain's versions then ("" outside every scope): reports of one scope at one version carry the same values. */
  scopeVersion = "";
  /** @internal The breadcrumbs sent with it, taken when it is handed to the client. */
  breadcrumbs: { entries: Breadcrumb[]; dropped: number } | undefined = undefined;
  /** @internal The classifier when it is not the error's type (out of memory, an event loop stall). */
  classifier: string | undefined = undefined;
  /** @internal The thread the report is about when it is not the one building it (the watchdog reports the main thread). */
  thread: { id: string; name: string } | undefined = undefined;
  /** @internal Threads sent besides the faulting one (the native stack of a fatal error), by id. */
  extraThreads: Record<string, WireThread> | undefined = undefined;

  /**
   * @internal Occurrences this report stands for when duplicates were merged into it (see docs/delivery.md):
   * the count (this one included) and the first and last time, in seconds since the epoch.
   */
  duplicates: { count: number; first: number; last: number } | undefined = undefined;
  /** @internal True once the report was handed to a client: a second sending has the same uuid (see `BacktraceClient.send`). */
  handed = false;

  /** A report for `client`, or for the default client set up by `initialize`. It carries the stack of where it is made. */
  constructor(client?: ReportSender) {
    this.sender = client;
    try {
      this.context = (client ?? getDefaultSender())?.reportContext?.();
      this.scope = currentScope();
      if (this.scope !== undefined) {
        const chain = scopeChain(this.scope);
        const attributes: Record<string, unknown> = {};
        const annotations: Record<string, unknown> = {};
        for (const scope of chain) {
          // Values the integrations know only later are getters on the scope: read now, with the others.
          Object.assign(attributes, scope.attributes);
          Object.assign(annotations, scope.annotations);
        }
        this.scopeValues = { attributes, annotations };
        this.scopeVersion = chain.map((scope) => scope.version).join(".");
      }
    } catch {
      this.skippedInputs++;
    }
    if (captureWhereMade) {
      // V8 formats the stack only if it is read: a report that gets an error never pays for it.
      const holder: { stack?: string } = {};
      Error.captureStackTrace(holder, BacktraceReport);
      this.callSite = holder;
    }
  }

  /** @internal True when nothing was set on the report itself: merging it into a duplicate loses nothing of its own. */
  ownDataEmpty(): boolean {
    return (
      Object.keys(this.attributes).length === 0 && Object.keys(this.annotations).length === 0 && this.attachments.length === 0 &&
      this.dataAttachments.length === 0 && this.logLines.length === 0 && this.skippedInputs === 0 && this.thread === undefined && this.extraThreads === undefined
    );
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

  /** Every attribute the report will carry (a copy): the defaults, the client's, the scope's and its own. */
  getAttributes(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.context?.baseAttributes(), ...this.layeredAttributes() };
    for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
    return out;
  }

  /** @internal The client's (set after initialize), the scope's and the report's own, in that order; undefined removes. */
  layeredAttributes(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.context?.attributes, ...this.scopeValues?.attributes };
    return Object.assign(out, this.attributes);
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

  /** The annotations the report will carry (a copy): the client's, the scope's and its own. */
  getAnnotations(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.context?.annotations, ...this.scopeValues?.annotations };
    return Object.assign(out, this.annotations);
  }

  /**
   * Attaches a file by path (read when the report is sent, skipped if missing then), or, given `data`
   * (a Buffer, Uint8Array or string), bytes held in memory under the file name `name`.
   */
  addAttachment(path: string): this;
  addAttachment(name: string, data: AttachmentData): this;
  addAttachment(nameOrPath: string, data?: AttachmentData): this {
    if (typeof nameOrPath !== "string" || nameOrPath === "") {
      this.skippedInputs++;
      return this;
    }
    if (arguments.length < 2) {
      if (!this.attachments.includes(nameOrPath)) this.attachments.push(nameOrPath);
      return this;
    }
    const bytes = toBytes(data);
    if (bytes === undefined) this.skippedInputs++;
    else {
      const at = this.dataAttachments.findIndex((a) => a.name === nameOrPath);
      if (at >= 0) this.dataAttachments.splice(at, 1);
      this.dataAttachments.push({ name: nameOrPath, data: bytes });
    }
    return this;
  }

  /** The paths attached to this report (a copy); in-memory attachments are not listed. */
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

/** Attachment data as a Buffer of its own (copied: a later change by the application is not sent). */
export function toBytes(data: unknown): Buffer | undefined {
  try {
    if (typeof data === "string") return Buffer.from(data, "utf8");
    if (data instanceof Uint8Array) return Buffer.from(data);
  } catch {
    // A detached buffer, a hostile view: not attached, counted by the caller.
  }
  return undefined;
}
