// BacktraceClient: takes reports from the application and moves them through build, serialize and delivery.
import { createAggregation, type Aggregation, type AggregationCounts } from "./assemble/aggregate.js";
import type { Assembler } from "./assemble/assemble.js";
import { assemblerOnDemand } from "./assemble/on-demand.js";
import { loadAssemble, loadJournalRecord } from "./assemble/lazy.js";
import { createPipeline, type Pipeline } from "./assemble/pipeline.js";
import { applySendOptions, captureCallSite, printable, type SendOptions } from "./capture/call-site.js";
import { ClientContext } from "./capture/client-context.js";
import type { BreadcrumbOptions } from "./capture/breadcrumbs.js";
import { BacktraceReport, internalReport, type AttachmentData, type ReportContext } from "./capture/report.js";
import type { Scope, User } from "./capture/scope.js";
import { createReportLimits, type ReportLimits } from "./deliver/rate-limit.js";
import { defaults, deliveryDefaults } from "./defaults.js";
import { BacktraceError, ErrorCodes } from "./errors.js";
import { resolveOptions, type BacktraceOptions, type ResolvedOptions } from "./options.js";
import { redactText, redactUrl, urlSecrets } from "./submission-url.js";
import { describeOutcome, type DeliveryCounters, type DropReason, type SendOutcome } from "./outcome.js";
import { createClientExit, deliveryFor, describeDelivery, type ClientExit } from "./process/client-exit.js";
import { watchClient, type ClientWatch } from "./process/client-watch.js";
import type { Journal } from "./spool/journal.js";
import { openClientSpool } from "./spool/spool-location.js";
import type { Spool } from "./spool/spool.js";

export type { SendOptions };

export interface ClientCounters extends DeliveryCounters, AggregationCounts {
  /** Reports handed to the client. */
  captured: number;
  /** Reports dropped before delivery, by reason. */
  discarded: Partial<Record<DropReason, number>>;
  /** True when a spool was wanted but no folder could be used (see docs/delivery.md); false with `spool: false`. */
  spoolDisabled: boolean;
}

export class BacktraceClient {
  /**
   * The checked options (the submission URL inside holds the token). A #private field, not a property:
   * no inspect, spread, JSON or key listing can reach it.
   */
  readonly #options: ResolvedOptions;
  /** The token's forms, hidden from every debug line; worked out at the first one (there is none without `debugBacktrace`). */
  #secrets: readonly string[] | undefined;
  private readonly spool: Spool | undefined;
  /** The spool's write-ahead journal (reports captured and not settled), opened at the first report (see `journal()`). */
  private openedJournal: Journal | undefined;
  private readonly assembler: Assembler;
  private readonly pipeline: Pipeline;
  /** Storm control (`aggregateDuplicates`) and `rateLimit`/`sampleRate`, before a report is built. */
  private readonly aggregation: Aggregation;
  private readonly limits: ReportLimits;
  private closed = false;
  private finalizing = false;
  private readonly stats = { captured: 0, trimmed: 0, discarded: {} as Partial<Record<DropReason, number>>, spoolDisabled: false };
  /** What is pending, the exit listeners that follow it, and the delivery (replaced when the exit wait gives up on it). */
  private readonly exit: ClientExit;
  /** Crash hooks, worker and fatal-error watching, the stall watchdog, recovery: what the client installed in the process. */
  private readonly watch: ClientWatch;
  /** What new reports start with: the client's attributes, annotations, attachments, breadcrumbs and scopes. */
  private readonly context: ClientContext;

  /** Checks the options at once: bad configuration throws a `BacktraceConfigError`. */
  constructor(options: BacktraceOptions) {
    this.#options = resolveOptions(options);
    const debug = this.#options.debugBacktrace ? (message: string) => this.debug(message) : undefined;
    // A beforeSend may tell duplicates apart (or drop one and not another): with one, nothing is merged.
    this.aggregation = createAggregation({ enabled: this.#options.aggregateDuplicates && !this.#options.beforeSend, debug });
    const limits = (this.limits = createReportLimits(this.#options.rateLimit, this.#options.sampleRate));
    this.assembler = assemblerOnDemand({
      options: this.#options,
      debug: (message) => this.debug(message),
      onTrimmed: () => void this.stats.trimmed++,
      takeDropped: () => limits.takeDropped(),
    });
    this.spool = openClientSpool(this.#options, debug);
    this.stats.spoolDisabled = this.spool?.enabled === false;
    const assembler = this.assembler;
    this.context = new ClientContext({
      attributes: this.#options.attributes,
      breadcrumbs: this.#options.breadcrumbs === false ? defaults.breadcrumbs : this.#options.breadcrumbs,
      automatic: this.#options.breadcrumbs !== false,
      stackTraceLimit: this.#options.stackTraceLimit,
      baseAttributes: () => assembler.baseAttributes(),
      onAttributesChanged: () => this.watch?.attributesChanged(),
    });
    this.pipeline = createPipeline({
      prepare: (report) => this.assembler.prepare(report),
      submit: (payload) => this.exit.delivery.submit(payload).then((outcome) => {
        if (this.#options.debugBacktrace) this.debug(`report ${outcome.uuid}: ${describeOutcome(outcome)}`);
        return outcome;
      }),
      discard: (report, reason) => this.discard(report, reason),
      fail: (report, error, resolve, reject) => this.fail(report, error, resolve, reject),
      buildAhead: Math.max(8, this.#options.concurrency * 2),
      // While the endpoint fails, what waits in memory is bounded by queueSize; the rest is built and spooled.
      holdLimit: () => (this.exit.failing() ? this.#options.queueSize : deliveryDefaults.holdLimit),
      maxBacklog: deliveryDefaults.maxBacklog,
      windowMs: this.#options.aggregateDuplicates && !this.#options.beforeSend ? this.#options.aggregateWindow * 1000 : 0,
    });
    if (debug) debug(`initialized; reports go to ${describeDelivery(this.#options)}`);
    // Debug output changes stderr anyway: there the counters are printed at every exit.
    if (debug) process.on("exit", this.debugAtExit);
    const closed = (): boolean => this.closed;
    this.exit = createClientExit(
      {
        // Only a journal opened (by a report) holds anything to write at exit.
        journal: { flushSync: () => this.openedJournal?.flushSync() },
        pipeline: this.pipeline,
        assembler: this.assembler,
        spool: this.spool,
        discard: (report, reason) => this.discard(report, reason),
        closed,
        createDelivery: () => deliveryFor(this.#options, this.spool, debug),
      },
      this.#options.exitTimeout,
    );
    this.watch = watchClient(
      {
        send: (report) => this.send(report),
        reportContext: () => this.reportContext(),
        closed,
        breadcrumbsOf: (report) => this.context.breadcrumbsOf(report),
        prepareSync: (report) => this.assembler.prepareSync(report),
        clientAttributes: () => this.getAttributes(),
        setAttribute: (key, value) => void this.setAttribute(key, value),
        captured: () => void this.stats.captured++,
        dropped: (reason) => this.countDiscard(reason),
        restore: (uuid, record, parts) => loadJournalRecord().restoreReport(uuid, record, this, parts),
        replay: () => this.exit.replay(),
        preload: loadAssemble,
      },
      this.#options,
      this.spool,
      debug,
    );
  }

  private readonly debugAtExit = (): void => this.debug(`counters at exit: ${JSON.stringify(this.counters())}`);

  /** What `console.log(client)` and `JSON.stringify` show: never the token. */
  toJSON(): { endpoint: string; counters: ClientCounters } {
    return { endpoint: redactUrl(this.#options.submissionUrl), counters: this.counters() };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `BacktraceClient { endpoint: ${redactUrl(this.#options.submissionUrl)} }`;
  }

  /** A new report that this client will send; it carries the stack of where it was made. */
  createReport(): BacktraceReport {
    const report = internalReport(this);
    report.callSite = captureCallSite(this.createReport);
    return report;
  }

  /** @internal */
  reportContext(): ReportContext {
    return this.context.current;
  }

  /** Records a breadcrumb: in the current scope when there is one (see `withScope`), else on the client. Never throws. */
  addBreadcrumb(message: string, options?: BreadcrumbOptions): void {
    this.context.addBreadcrumb(message, options);
  }

  /**
   * Runs `fn` in a scope of its own (AsyncLocalStorage): attributes, annotations, a user and breadcrumbs
   * set through the scope it is given hold for reports made inside it and its async continuations only.
   */
  withScope<T>(fn: (scope: Scope) => T): T {
    return this.context.withScope(fn);
  }

  /** Sets an attribute sent with every report made from now on. */
  setAttribute(key: string, value: unknown): this {
    return this.setAttributes({ [String(key)]: value });
  }

  /** Sets every key of `values` as a client attribute. */
  setAttributes(values: Record<string, unknown>): this {
    this.context.setAttributes(values);
    return this;
  }

  /** Removes a client attribute (one given to initialize too) from reports made from now on. */
  removeAttribute(key: string): this {
    this.context.removeAttribute(key);
    return this;
  }

  /** The client's attributes: those of initialize and those set since. */
  getAttributes(): Record<string, unknown> {
    return this.context.getAttributes();
  }

  /** Sets an annotation sent with every report made from now on. */
  setAnnotation(key: string, value: unknown): this {
    this.context.setAnnotation(key, value);
    return this;
  }

  /** The user of every report from now on, as the attributes `user.id`, `user.email`, `user.name`; null clears it. */
  setUser(user: User | null): this {
    this.context.setUser(user);
    return this;
  }

  /**
   * Attaches a file (by path) or, given `data` (Buffer, Uint8Array or string), bytes under the file name
   * `name`, to every report made from now on. A report's own attachment of the same name wins.
   */
  addAttachment(path: string): this;
  addAttachment(name: string, data: AttachmentData): this;
  addAttachment(nameOrPath: string, data?: AttachmentData): this {
    this.context.addAttachment(nameOrPath, arguments.length >= 2, data);
    return this;
  }

  /** Reports a caught error (any thrown value). Returns at once; the promise says how delivery went. */
  sendException(error: unknown, options: SendOptions = {}): Promise<SendOutcome> {
    return this.guard(() => {
      const report = applySendOptions(internalReport(this).setException(error), options);
      return this.send(report);
    });
  }

  /** Reports a message with the caller's stack. Returns at once. */
  sendReport(message: string, options: SendOptions = {}): Promise<SendOutcome> {
    return this.sendReportFrom(this.sendReport, message, options);
  }

  /** @internal `caller` is the public function the application called: the stack starts below it. */
  sendReportFrom(caller: (...args: never[]) => unknown, message: string, options: SendOptions = {}): Promise<SendOutcome> {
    return this.guard(() => {
      const report = applySendOptions(internalReport(this), options);
      report.message = printable(message);
      report.callSite = captureCallSite(caller);
      return this.send(report);
    });
  }

  /** Sends a report in the background. Never rejects unless `debugBacktrace` is on. */
  send(report: BacktraceReport): Promise<SendOutcome> {
    return this.guard(() => {
      this.stats.captured++;
      if (this.closed) return Promise.resolve(this.discard(report, "client-finalized"));
      if (!report.hasError && report.callSite === undefined) report.callSite = captureCallSite(this.send);
      // A report can be merged only into one waiting to be built: with none waiting, its fingerprint (which formats
      // the error's stack) is not made on the caller's path, but later, if a possible duplicate comes while it waits.
      // A report with data of its own (attributes, attachments, ...) never merges: it neither waits for duplicates nor is fingerprinted.
      // Nor does a report object sent a second time take duplicates: it has the uuid of its first sending, which a server
      // drops as a copy, and the occurrences merged into it would go with it. The duplicates make a report of their own.
      const again = report.handed;
      report.handed = true;
      const aggregating = this.#options.aggregateDuplicates && report.ownDataEmpty() && !again;
      const key = !aggregating ? undefined : this.pipeline.waiting() > 0 ? this.aggregation.key(report) : () => this.aggregation.key(report);
      // One that already stands for several occurrences (restored from the journal) takes duplicates but is not merged
      // into another: there it would count as one.
      const merged = typeof key !== "string" || report.duplicates !== undefined ? undefined : this.aggregation.merge(report, key, this.pipeline, this.journal());
      if (merged) return merged;
      // Crashes are never limited; an occurrence merged above costs nothing and is always counted.
      const limited = report.errorType === "Unhandled exception" || report.errorType === "Crash" ? undefined : this.limits.admit();
      if (limited) return Promise.resolve(this.discard(report, limited));
      report.breadcrumbs ??= this.context.breadcrumbsOf(report);
      this.exit.watch();
      // Written ahead within 50 ms: a kill -9 or a SIGTERM from now on loses nothing (the next start sends it).
      const journal = this.journal();
      journal?.add(report.uuid, () => loadJournalRecord().journalRecordJson(report));
      this.exit.opened();
      const outcome = this.pipeline.push(report, key);
      const settled = this.settledFor(journal, report.uuid);
      void outcome.then(settled, settled);
      return outcome;
    });
  }

  /** The journal, opened at the first report that needs it: initialize does not pay for it, and nothing is in it before. */
  private journal(): Journal | undefined {
    return (this.openedJournal ??= this.spool?.journal());
  }

  /** What runs once a report is settled: its journal line goes, and the exit path counts one pending report fewer. */
  private settledFor(journal: Journal | undefined, uuid: string): () => void {
    // Returned unnamed: a function bound to a name gets that name set at run time in the bundle, at each report.
    return () => {
      journal?.settle(uuid);
      this.exit.settled();
    };
  }

  /** @internal A report still to be decided (an answer not finished): pending until released; the exit path decides it first. */
  holdDecision(decide: () => void): () => void {
    if (this.closed) return () => {};
    return this.exit.hold(decide);
  }

  /** Waits until every pending report is sent or spooled, at most `timeout` seconds (default `exitTimeout`). */
  async flush(timeout: number = this.#options.exitTimeout): Promise<boolean> {
    // Async: whatever goes wrong, even a call without its client, rejects; nothing throws where flush is called.
    return this.exit.flush(timeout);
  }

  /** Flushes pending reports (bounded by `exitTimeout`), then removes every hook and closes connections. */
  async finalize(): Promise<void> {
    if (this.closed || this.finalizing) return;
    this.finalizing = true;
    // The crash hooks go first: a crash while pending reports are flushed is for the next client to report.
    this.watch.uninstall();
    this.context.uninstall();
    await this.flush();
    this.closed = true;
    this.exit.uninstall();
    this.watch.stopRecovery();
    process.off("exit", this.debugAtExit);
    await this.exit.closeDelivery();
    this.openedJournal?.close();
    this.debug(`finalized; counters: ${JSON.stringify(this.counters())}`);
  }

  /**
   * What happened to reports so far: sent, retried, spooled, trimmed and dropped, by reason. Counts only
   * grow for the life of the client: they include deliveries replaced at exit and crash reports.
   */
  counters(): ClientCounters {
    const total = this.exit.deliveryCounters(this.watch.fatal);
    const aggregation = this.aggregation.counts();
    // Occurrences merged into reports lost after they were spooled: rejected when replayed, or evicted from a full spool.
    const lostLater = total.mergedLost + (this.spool?.counters().evictedMerged ?? 0);
    return {
      ...total,
      captured: this.stats.captured,
      merged: aggregation.merged,
      mergedLost: aggregation.mergedLost + lostLater,
      trimmed: total.trimmed + this.stats.trimmed,
      discarded: { ...this.stats.discarded },
      spoolDisabled: this.stats.spoolDisabled,
    };
  }

  /** @internal */
  debug(message: string): void {
    // Every debug line passes here: an answer's body or an error may echo the request line and its token.
    if (this.#options.debugBacktrace) process.stderr.write(`backtrace-ts: ${redactText(message, (this.#secrets ??= urlSecrets(this.#options.submissionUrl)))}\n`);
  }

  private countDiscard(reason: DropReason): void {
    this.stats.discarded[reason] = (this.stats.discarded[reason] ?? 0) + 1;
  }

  private discard(report: BacktraceReport, reason: DropReason): SendOutcome {
    this.countDiscard(reason);
    this.aggregation.lostWith(report);
    this.debug(`report ${report.uuid} dropped: ${reason}`);
    return { status: "dropped", uuid: report.uuid, reason };
  }

  private fail(report: BacktraceReport, error: unknown, resolve: (o: SendOutcome) => void, reject: (e: unknown) => void): void {
    if (this.#options.debugBacktrace) {
      this.debug(`building report ${report.uuid} failed: ${String(error)}`);
      reject(new BacktraceError(ErrorCodes.COLLECTION_FAILED, `backtrace-ts: building a report failed: ${String(error)}`, { cause: error }));
      return;
    }
    resolve(this.discard(report, "build-failed"));
  }

  /** Runs a public call so that nothing escapes into the application, unless `debugBacktrace`. */
  private guard(run: () => Promise<SendOutcome>): Promise<SendOutcome> {
    try {
      return run();
    } catch (error) {
      if (this.#options.debugBacktrace) throw error;
      this.countDiscard("capture-failed");
      return Promise.resolve({ status: "dropped", uuid: "", reason: "capture-failed" });
    }
  }
}
