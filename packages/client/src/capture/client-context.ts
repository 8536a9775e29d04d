// What a client adds to every report it makes, beyond initialize: attributes, annotations, attachments, the user,
// breadcrumbs and scopes, and the stack depth. Read by each report when it is made (capture/report.ts).
import type { ResolvedBreadcrumbs } from "../defaults.js";
import type { AttachmentRef } from "../payload.js";
import { BreadcrumbStore, mergeBreadcrumbs, type Breadcrumb, type BreadcrumbLimits, type BreadcrumbOptions } from "./breadcrumbs.js";
import { installBreadcrumbSources } from "./breadcrumb-sources.js";
import { toBytes, type AttachmentData, type BacktraceReport, type ReportContext } from "./report.js";
import { currentScope, runInScope, scopeChain, userAttributes, type Scope, type User } from "./scope.js";


export interface ClientContextOptions {
  /** The attributes given to initialize. */
  attributes: Record<string, unknown>;
  /** The breadcrumb settings; with `automatic` false, only manual breadcrumbs are recorded. */
  breadcrumbs: ResolvedBreadcrumbs;
  automatic: boolean;
  stackTraceLimit: number;
  /** The default and initialize attributes, made only when a report's `getAttributes()` asks. */
  baseAttributes(): Record<string, unknown>;
  /** Called when the client's attributes change (the fatal-error folder records them). */
  onAttributesChanged?: (() => void) | undefined;
}

export class ClientContext {
  /** Replaced, never changed in place: a report keeps the one of the moment it was made. */
  current: ReportContext;
  private readonly limits: BreadcrumbLimits;
  private readonly store: BreadcrumbStore;
  private uninstallSources: (() => void) | undefined;
  private raisedStackLimit: number | undefined;

  constructor(private readonly options: ClientContextOptions) {
    const crumbs = options.breadcrumbs;
    this.limits = {
      maxEntries: crumbs.maxEntries,
      maxMessageLength: crumbs.maxMessageLength,
      maxAttributeDepth: crumbs.maxAttributeDepth,
      maxBreadcrumbBytes: crumbs.maxBytes,
    };
    this.store = new BreadcrumbStore(this.limits);
    this.current = { attributes: {}, annotations: {}, attachments: [], baseAttributes: options.baseAttributes };
    // Node's 10 frames cut deep errors above the function that caught them; a limit the application chose stays.
    if (Error.stackTraceLimit === 10 && options.stackTraceLimit !== 10) {
      Error.stackTraceLimit = this.raisedStackLimit = options.stackTraceLimit;
    }
    if (options.automatic) {
      this.uninstallSources = installBreadcrumbSources(crumbs, crumbs.maxMessageLength, (message, level, type, attributes) =>
        this.target().add(message, attributes === undefined ? { level } : { level, attributes }, type),
      );
    }
  }

  /** Undoes what the client changed in the process: the automatic breadcrumb sources, the stack depth. */
  uninstall(): void {
    this.uninstallSources?.();
    this.uninstallSources = undefined;
    if (this.raisedStackLimit !== undefined && Error.stackTraceLimit === this.raisedStackLimit) Error.stackTraceLimit = 10;
    this.raisedStackLimit = undefined;
  }

  /** Records a breadcrumb: in the current scope when there is one, else on the client. Never throws. */
  addBreadcrumb(message: string, options?: BreadcrumbOptions): void {
    try {
      this.target().add(message, options);
    } catch {
      // Never into the application.
    }
  }

  withScope<T>(fn: (scope: Scope) => T): T {
    return runInScope(this.limits, fn);
  }

  setAttributes(values: Record<string, unknown>): void {
    const next = { ...this.current.attributes };
    try {
      for (const key of Object.keys(values)) next[key] = values[key];
    } catch {
      // What cannot be read is left out.
    }
    this.change({ attributes: next });
  }

  removeAttribute(key: string): void {
    this.change({ attributes: { ...this.current.attributes, [String(key)]: undefined } });
  }

  /** The client's attributes: those of initialize and those set since. */
  getAttributes(): Record<string, unknown> {
    const out: Record<string, unknown> = { ...this.options.attributes, ...this.current.attributes };
    for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
    return out;
  }

  setAnnotation(key: string, value: unknown): void {
    this.change({ annotations: { ...this.current.annotations, [String(key)]: value } });
  }

  setUser(user: User | null): void {
    this.setAttributes(userAttributes(user));
  }

  /** A file by path (one argument) or bytes under a name, attached to every report from now on. */
  addAttachment(nameOrPath: string, hasData: boolean, data?: AttachmentData): void {
    if (typeof nameOrPath !== "string" || nameOrPath === "") return;
    let ref: AttachmentRef | undefined;
    if (!hasData) ref = { name: nameOrPath, path: nameOrPath };
    else {
      const bytes = toBytes(data);
      if (bytes !== undefined) ref = { name: nameOrPath, data: bytes };
    }
    if (ref === undefined) return;
    const attachments = this.current.attachments.filter((a) => a.name !== nameOrPath);
    this.change({ attachments: [...attachments, ref] });
  }

  /** The client's breadcrumbs and those of the scopes the report was made in, newest `maxEntries`. */
  breadcrumbsOf(report: BacktraceReport): { entries: Breadcrumb[]; dropped: number } {
    const stores = [this.store];
    for (const scope of scopeChain(report.scope)) if (scope.breadcrumbs) stores.push(scope.breadcrumbs);
    const merged = mergeBreadcrumbs(stores, this.limits.maxEntries);
    let overwritten = 0;
    for (const store of stores) overwritten += store.overwritten + store.rejected;
    return { entries: merged.entries, dropped: merged.dropped + overwritten };
  }

  private change(change: Partial<Omit<ReportContext, "baseAttributes">>): void {
    this.current = { ...this.current, ...change };
    if (change.attributes) this.options.onAttributesChanged?.();
  }

  /** Where a breadcrumb made now goes: the running scope's store, else the client's. */
  private target(): BreadcrumbStore {
    return currentScope()?.store() ?? this.store;
  }
}
