// A client's reports at the process's end: how many are pending (the exit listeners are on while some are), the wait for
// them, the decisions held for the exit path, and the client's delivery (made from its options), replaced by a fresh one
// when the exit wait gives up on it.
import { errorText } from "../errors.js";
import { deliveryCountersWithout, totalCounters, type FatalCounts } from "../deliver/counters.js";
import type { Delivery } from "../deliver/delivery.js";
import { loadDelivery } from "../deliver/lazy.js";
import type { ResolvedOptions } from "../options.js";
import type { DeliveryCounters } from "../outcome.js";
import { loadSerialize } from "../serialize/lazy.js";
import type { Spool } from "../spool/spool.js";
import { redactUrl } from "../submission-url.js";
import { secondsToTimerMs } from "../timers.js";
import { loadProxy } from "../transport/lazy.js";
import { installExitHandling, type ExitHandling } from "./exit.js";
import { HeldDecisions, spoolUnbuiltSync, type UnbuiltSpooling } from "./exit-spool.js";

/** What of the client the exit path uses: its stages (the journal, the pipeline, the assembler, the spool) and three calls. */
export interface ExitStages extends Omit<UnbuiltSpooling, "held" | "exitTimeoutSeconds" | "pipeline" | "spool"> {
  pipeline: UnbuiltSpooling["pipeline"] & { idle(): Promise<void>; pending(): number };
  spool: Spool | undefined;
  /** True once the client is finalized: nothing of it is pending then. */
  closed(): boolean;
  /** A new delivery: the first, and each one that replaces a delivery given up at exit. */
  createDelivery(): Delivery;
}

export interface ClientExit {
  /**
   * The delivery reports go to now: made at its first use (a report, a spool that holds records to replay), not at
   * initialize; its code is in the package's second file.
   */
  readonly delivery: Delivery;
  /** Sends what the spool holds (the delivery's replay); without a delivery yet, only when the spool holds records. */
  replay(): Promise<void>;
  /** True while the endpoint fails (see `Delivery.failing`); false before a delivery is made. */
  failing(): boolean;
  /** The counts of every delivery the client had (those replaced at exit too) and of its crash reports. */
  deliveryCounters(fatal: FatalCounts): DeliveryCounters;
  /** True while a report is not settled yet: unbuilt, queued, in flight, or being spooled at the exit deadline. */
  pending(): boolean;
  /** Waits until every pending report is sent or spooled, at most `timeout` seconds; true when all settled. */
  flush(timeout: number): Promise<boolean>;
  /** A report is about to be pending: listen for the end of the process. */
  watch(): void;
  /** A report handed to the pipeline: pending until `settled()`. */
  opened(): void;
  /** A report opened settled: with nothing else pending, the exit listeners go until the next report. */
  settled(): void;
  /** A report still to be decided: pending until the function returned is called; the exit path decides it first. */
  hold(decide: () => void): () => void;
  /** Removes the exit listeners for good. */
  uninstall(): void;
  /** Closes the delivery, if one was made: see `Delivery.close`. */
  closeDelivery(): Promise<void>;
}

export function createClientExit(stages: ExitStages, exitTimeoutSeconds: number): ClientExit {
  const pipeline = stages.pipeline;
  /**
   * Made at its first use: initialize does not pay for it, and until a report reaches it there is nothing in it to
   * flush, spool or close. Replaced by a fresh one (made at its first use too) when the exit wait gives up on the old
   * one's reports (they go to the spool).
   */
  let delivery: Delivery | undefined;
  const current = (): Delivery => (delivery ??= stages.createDelivery());
  /** Deliveries replaced that way: their counts still belong to the client's. */
  const retired: Delivery[] = [];
  /** Deliveries given up at exit that are still writing what they held to the spool. */
  let closing = 0;
  /** Reports handed to the pipeline and not settled yet, wherever they are (building, queued, in flight, being spooled). */
  let unsettled = 0;
  /** Decisions the exit path makes before spooling what is unbuilt (see `BacktraceClient.holdDecision`). */
  const held = new HeldDecisions();

  const pending = (): boolean => !stages.closed() && unsettled + closing > 0;
  const settledOne = (): void => {
    if (!pending()) exit.idle();
  };
  const settled = (): void => {
    unsettled--;
    settledOne();
  };
  const flush = async (timeout: number): Promise<boolean> => {
    // A deadline that is NaN, negative or past what a timer holds is clamped: 0 only looks, it never waits.
    const ms = secondsToTimerMs(timeout);
    if (ms === 0) return pipeline.pending() === 0 && (await (delivery?.flush(0) ?? true));
    const deadline = performance.now() + ms;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    // The ref'd timer keeps the process up while reports are built and handed to delivery.
    await Promise.race([pipeline.idle(), expired]);
    clearTimeout(timer);
    // The report being built counts too: it is not in delivery's hands yet.
    if (pipeline.pending() > 0) return false;
    return delivery?.flush(Math.max(0, deadline - performance.now())) ?? true;
  };
  const exit: ExitHandling = installExitHandling(
    {
      // Nothing left to run: an answer still awaited can never finish (a fake response, say), so it is decided now.
      pending: () => {
        held.decideAll();
        return pending();
      },
      flush,
      spoolUnbuiltSync: () => spoolUnbuiltSync({ ...stages, held, exitTimeoutSeconds }),
      spoolDeliverySync: () => {
        // A delivery given up at the exit deadline may still hold spool writes that did not finish.
        for (const old of retired) old.spoolPendingSync();
        delivery?.spoolPendingSync();
      },
      abandonDelivery: () => {
        const old = delivery;
        // None made yet: what is pending was never built, and the exit path spools it itself.
        if (old === undefined) return;
        retired.push(old);
        delivery = undefined;
        closing++;
        void old.close().finally(() => {
          closing--;
          settledOne();
        });
      },
    },
    exitTimeoutSeconds,
  );
  return {
    get delivery() {
      return current();
    },
    deliveryCounters(fatal) {
      // Before a delivery is made, its counts are the spool's alone (evictions, corrupt records): none is made for them.
      const now = delivery?.counters() ?? deliveryCountersWithout(stages.spool);
      return totalCounters(now, retired.map((old) => old.counters()), fatal);
    },
    async replay() {
      // The delivery's code is loaded for a spool that holds records, not for every start: listing the folder is enough.
      if (delivery === undefined && ((await stages.spool?.list())?.length ?? 0) === 0) return;
      await current().replay();
    },
    failing() {
      return delivery?.failing() ?? false;
    },
    pending,
    flush,
    watch() {
      exit.watch();
    },
    opened() {
      unsettled++;
    },
    settled,
    hold(decide) {
      unsettled++;
      exit.watch();
      return held.hold(decide, settled);
    },
    uninstall() {
      exit.uninstall();
    },
    async closeDelivery() {
      await delivery?.close();
    },
  };
}

/** The client's delivery, from its options and its spool. */
export function deliveryFor(options: ResolvedOptions, spool: Spool | undefined, debug: ((message: string) => void) | undefined): Delivery {
  return loadDelivery().createDelivery({
    url: options.submissionUrl,
    timeoutMs: options.timeout * 1000,
    ignoreSslCertificate: options.ignoreSslCertificate,
    proxy: options.proxy,
    ca: options.ca,
    spool,
    queueSize: options.queueSize,
    concurrency: options.concurrency,
    trim: (json: string) => loadSerialize().trimSerialized(json, Math.max(16 * 1024, Math.floor(options.maxReportBytes / 8))),
    ...(debug ? { debug } : {}),
  });
}

/** Where reports go, for the debug line at initialize: the endpoint (the token hidden) and the route (a proxy or direct). */
export function describeDelivery(options: ResolvedOptions): string {
  let route: string;
  try {
    // The proxy's code (loaded with the first request otherwise) is loaded here for this line only.
    const { describeRoute, proxyFor } = loadProxy();
    route = describeRoute(proxyFor(options.submissionUrl, options.proxy));
  } catch (error) {
    route = `(route unknown: ${errorText(error)})`;
  }
  return `${redactUrl(options.submissionUrl)} ${route}`;
}
