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
import { totalCounters, type FatalCounts } from "./deliver/counters.js";
import { createDelivery, type Delivery } from "./deliver/delivery.js";
import { createReportLimits, type ReportLimits } from "./deliver/rate-limit.js";
import { dynamicAttributes, processStaticAttributes } from "./enrich/attributes.js";
import { defaults, deliveryDefaults } from "./defaults.js";
import { BacktraceError, ErrorCodes, errorText } from "./errors.js";
import { resolveOptions, type BacktraceOptions, type ResolvedOptions } from "./options.js";
import { redactText, redactUrl, urlSecrets } from "./submission-url.js";
import { describeOutcome, type DeliveryCounters, type DropReason, type SendOutcome } from "./outcome.js";
import { installExitHandling, type ExitHandling } from "./process/exit.js";
import { HeldDecisions, spoolUnbuiltSync } from "./process/exit-spool.js";
import { watchProcess, type ProcessWatch } from "./process/watch.js";
import { deliverFatal } from "./process/fatal.js";
import { startRecovery } from "./process/recovery.js";
import { loadSerialize } from "./serialize/lazy.js";
import type { Journal } from "./spool/journal.js";
import { openClientSpool } from "./spool/spool-location.js";
import type { Spool } from "./spool/spool.js";
import { secondsToTimerMs } from "./timers.js";
import { loadProxy } from "./transport/lazy.js";

export type { SendOptions };

/** How long after initialize a process that lives on loads the code that builds and sends reports (see the constructor). */
const PRELOAD_MS = 2000;

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
  /** The token's forms, hidden from every debug line. */
  readonly #secrets: readonly string[];
  /** Replaced by a fresh one when the exit wait gives up on the old one's reports (they go to the spool). */
  private delivery: Delivery;
  /** Deliveries replaced that way: their counts still belong to this client's. */
  private readonly retired: Delivery[] = [];
  private readonly spool: Spool | undefined;
  /** The spool's write-ahead journal: reports captured and not settled. */
  private readonly journal: Journal | undefined;
  private readonly assembler: Assembler;
  private readonly pipeline: Pipeline;
  /** Storm control (`aggregateDuplicates`) and `rateLimit`/`sampleRate`, before a report is built. */
  private readonly aggregation: Aggregation;
  private readonly limits: ReportLimits;
  private closed = false;
  private finalizing = false;
  private readonly stats = { captured: 0, trimmed: 0, discarded: {} as Partial<Record<DropReason, number>>, spoolDisabled: false };
  /** Crash reports by how their synchronous way out ended. */
  private readonly fatal: FatalCounts = { sent: 0, spooled: 0, lost: 0 };
  private readonly exit: ExitHandling;
  /** Deliveries given up at exit that are still writing what they held to the spool. */
  private closing = 0;
  /** Reports handed to the pipeline and not settled yet, wherever they are (building, queued, in flight, being spooled). */
  private unsettled = 0;
  /** Stops looking for journals of ended processes. */
  private stopRecovery: (() => void) | undefined;
  /** Crash hooks, worker and fatal-error watching, the stall watchdog: what the client installed in the process. */
  private readonly watch: ProcessWatch;
  /** What new reports start with: the client's attributes, annotations, attachments, breadcrumbs and scopes. */
  private readonly context: ClientContext;

  /** Checks the options at once: bad configuration throws a `BacktraceConfigError`. */
  constructor(options: BacktraceOptions) {
    this.#options = resolveOptions(options);
    this.#secrets = urlSecrets(this.#options.submissionUrl);
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
    this.journal = this.spool?.journal();
    this.delivery = this.createDelivery();
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
      submit: (payload) => this.delivery.submit(payload).then((outcome) => {
        if (this.#options.debugBacktrace) this.debug(`report ${outcome.uuid}: ${describeOutcome(outcome)}`);
        return outcome;
      }),
      discard: (report, reason) => this.discard(report, reason),
      fail: (report, error, resolve, reject) => this.fail(report, error, resolve, reject),
      buildAhead: Math.max(8, this.#options.concurrency * 2),
      // While the endpoint fails, what waits in memory is bounded by queueSize; the rest is built and spooled.
      holdLimit: () => (this.delivery.failing() ? this.#options.queueSize : deliveryDefaults.holdLimit),
      maxBacklog: deliveryDefaults.maxBacklog,
      windowMs: this.#options.aggregateDuplicates && !this.#options.beforeSend ? this.#options.aggregateWindow * 1000 : 0,
    });
    if (debug) {
      let route: string;
      try {
        // The proxy's code (loaded with the first request otherwise) is loaded here for this line only.
        const { describeRoute, proxyFor } = loadProxy();
        route = describeRoute(proxyFor(this.#options.submissionUrl, this.#options.proxy));
      } catch (error) {
        route = `(route unknown: ${errorText(error)})`;
      }
      debug(`initialized; reports go to ${redactUrl(this.#options.submissionUrl)} ${route}`);
    }
    // Debug output changes stderr anyway: there the counters are printed at every exit.
    if (debug) process.on("exit", this.debugAtExit);
    this.exit = installExitHandling(
      {
        // Nothing left to run: an answer still awaited can never finish (a fake response, say), so it is decided now.
        pending: () => {
          this.held.decideAll();
          return this.pending();
        },
        flush: (seconds) => this.flush(seconds),
        spoolUnbuiltSync: () =>
          spoolUnbuiltSync({
            held: this.held,
            journal: this.journal,
            pipeline: this.pipeline,
            assembler: this.assembler,
            spool: this.spool,
            exitTimeoutSeconds: this.#options.exitTimeout,
            discard: (report, reason) => this.discard(report, reason),
          }),
        spoolDeliverySync: () => {
          // A delivery given up at the exit deadline may still hold spool writes that did not finish.
          for (const old of this.retired) old.spoolPendingSync();
          this.delivery.spoolPendingSync();
        },
        abandonDelivery: () => {
          const old = this.delivery;
          this.retired.push(old);
          this.delivery = this.createDelivery();
          this.closing++;
          void old.close().finally(() => {
            this.closing--;
            this.settledOne();
          });
        },
      },
      this.#options.exitTimeout,
    );
    // Reports left by an earlier run (a crash, an outage) go out now, off the caller's path. The immediate
    // stays referenced: it ends within this turn of the event loop, while an unreferenced one can wait in
    // the loop's poll until some other event wakes it (the next timer of the application, seconds away).
    setImmediate(() => {
      if (this.closed) return;
      if (this.spool) {
        const host = { send: (report: BacktraceReport) => this.send(report), restore: (uuid: string, record: unknown) => loadJournalRecord().restoreReport(uuid, record, this), reportContext: () => this.reportContext() };
        this.stopRecovery = startRecovery(this.spool, host, (message) => this.debug(message));
      }
      this.delivery.replay().catch((error) => this.debug(`replay failed: ${String(error)}`));
      this.watch.started();
    });
    // The code that builds and sends reports is the package's second file, loaded at the first report. A process that
    // lives on loads it a little after its start, off the start's path: a crash later must not depend on reading a
    // file then (a deploy may have replaced the package meanwhile, the process may be out of descriptors).
    setTimeout(() => {
      if (this.closed) return;
      try {
        loadAssemble();
      } catch (error) {
        this.debug(`the code that builds reports could not be loaded: ${String(error)}`);
      }
    }, PRELOAD_MS).unref();
    this.watch = watchProcess(
      {
        send: (report) => this.send(report),
        reportContext: () => this.reportContext(),
        reportFatal: (report) => this.reportFatal(report),
        breadcrumbs: (report) => this.context.breadcrumbsOf(report).entries,
        // The default attributes as read (the report made from the record converts and redacts them, as it does the
        // client's): the code that converts them for a report is not loaded for the record.
        processAttributes: () => ({ ...processStaticAttributes(), ...dynamicAttributes(), ...this.getAttributes() }),
        clientAttributes: () => this.getAttributes(),
        setAttribute: (key, value) => void this.setAttribute(key, value),
      },
      this.#options,
      this.spool?.enabled ? this.spool.dir : undefined,
      this.spool?.sealKey(),
      debug,
    );
  }

  /** The process ends when this returns: the report is built, spooled and sent synchronously, within `exitTimeout`. */
  private reportFatal(report: BacktraceReport): void {
    const deadline = Date.now() + this.#options.exitTimeout * 1000;
    if (this.closed) return;
    this.stats.captured++;
    report.breadcrumbs = this.context.breadcrumbsOf(report);
    const payload = this.assembler.prepareSync(report);
    if (payload === undefined) return void this.countDiscard("before-send");
    const outcome = deliverFatal(payload, {
      url: this.#options.submissionUrl,
      ignoreSslCertificate: this.#options.ignoreSslCertificate,
      proxy: this.#options.proxy,
      ca: this.#options.ca,
      deadline,
      spool: this.spool,
      debug: this.#options.debugBacktrace ? (message: string) => this.debug(message) : undefined,
    });
    this.fatal[outcome] += 1;
  }

  /** True while a report is not settled yet: unbuilt, queued, in flight, or being spooled at the exit deadline. */
  private pending(): boolean {
    if (this.closed) return false;
    return this.unsettled + this.closing > 0;
  }

  private readonly debugAtExit = (): void => this.debug(`counters at exit: ${JSON.stringify(this.counters())}`);

  /** A report settled: with nothing else pending, the exit listeners go until the next report. */
  private settledOne(): void {
    if (!this.pending()) this.exit.idle();
  }

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
      const aggregating = this.#options.aggregateDuplicates && report.ownDataEmpty();
      const key = !aggregating ? undefined : this.pipeline.waiting() > 0 ? this.aggregation.key(report) : () => this.aggregation.key(report);
      const merged = typeof key !== "string" ? undefined : this.aggregation.merge(report, key, this.pipeline, this.journal);
      if (merged) return merged;
      // Crashes are never limited; an occurrence merged above costs nothing and is always counted.
      const limited = report.errorType === "Unhandled exception" || report.errorType === "Crash" ? undefined : this.limits.admit();
      if (limited) return Promise.resolve(this.discard(report, limited));
      report.breadcrumbs ??= this.context.breadcrumbsOf(report);
      this.exit.watch();
      // Written ahead within 50 ms: a kill -9 or a SIGTERM from now on loses nothing (the next start sends it).
      const journal = this.journal;
      journal?.add(report.uuid, () => loadJournalRecord().journalRecord(report));
      this.unsettled++;
      const outcome = this.pipeline.push(report, key);
      const settled = (): void => {
        this.unsettled--;
        journal?.settle(report.uuid);
        this.settledOne();
      };
      void outcome.then(settled, settled);
      return outcome;
    });
  }

  /** Decisions the exit path makes before spooling what is unbuilt (see `holdDecision`). */
  private readonly held = new HeldDecisions();

  /** @internal A report still to be decided (an answer not finished): pending until released; the exit path decides it first. */
  holdDecision(decide: () => void): () => void {
    if (this.closed) return () => {};
    this.unsettled++;
    this.exit.watch();
    return this.held.hold(decide, () => {
      this.unsettled--;
      this.settledOne();
    });
  }

  /** Waits until every pending report is sent or spooled, at most `timeout` seconds (default `exitTimeout`). */
  async flush(timeout: number = this.#options.exitTimeout): Promise<boolean> {
    // A deadline that is NaN, negative or past what a timer holds is clamped: 0 only looks, it never waits.
    const ms = secondsToTimerMs(timeout);
    if (ms === 0) return this.pipeline.pending() === 0 && (await this.delivery.flush(0));
    const deadline = performance.now() + ms;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    // The ref'd timer keeps the process up while reports are built and handed to delivery.
    await Promise.race([this.pipeline.idle(), expired]);
    clearTimeout(timer);
    // The report being built counts too: it is not in delivery's hands yet.
    if (this.pipeline.pending() > 0) return false;
    return this.delivery.flush(Math.max(0, deadline - performance.now()));
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
    this.stopRecovery?.();
    process.off("exit", this.debugAtExit);
    await this.delivery.close();
    this.journal?.close();
    this.debug(`finalized; counters: ${JSON.stringify(this.counters())}`);
  }

  /**
   * What happened to reports so far: sent, retried, spooled, trimmed and dropped, by reason. Counts only
   * grow for the life of the client: they include deliveries replaced at exit and crash reports.
   */
  counters(): ClientCounters {
    const total = totalCounters(this.delivery.counters(), this.retired.map((old) => old.counters()), this.fatal);
    return {
      ...total,
      captured: this.stats.captured,
      ...this.aggregation.counts(),
      trimmed: total.trimmed + this.stats.trimmed,
      discarded: { ...this.stats.discarded },
      spoolDisabled: this.stats.spoolDisabled,
    };
  }

  /** @internal */
  debug(message: string): void {
    // Every debug line passes here: an answer's body or an error may echo the request line and its token.
    if (this.#options.debugBacktrace) process.stderr.write(`backtrace-ts: ${redactText(message, this.#secrets)}\n`);
  }

  private countDiscard(reason: DropReason): void {
    this.stats.discarded[reason] = (this.stats.discarded[reason] ?? 0) + 1;
  }

  private discard(report: BacktraceReport, reason: DropReason): SendOutcome {
    this.countDiscard(reason);
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

  private createDelivery(): Delivery {
    return createDelivery({
      url: this.#options.submissionUrl,
      timeoutMs: this.#options.timeout * 1000,
      ignoreSslCertificate: this.#options.ignoreSslCertificate,
      proxy: this.#options.proxy,
      ca: this.#options.ca,
      spool: this.spool,
      queueSize: this.#options.queueSize,
      concurrency: this.#options.concurrency,
      trim: (json: string) => loadSerialize().trimSerialized(json, Math.max(16 * 1024, Math.floor(this.#options.maxReportBytes / 8))),
      ...(this.#options.debugBacktrace ? { debug: (message: string) => this.debug(message) } : {}),
    });
  }

}
