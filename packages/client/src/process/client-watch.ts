// A client's side in the process beyond its own calls: the process watch (watch.ts) with the crash report's way out, all
// synchronous (built, spooled and sent before the process ends); in the first turn, the reports earlier runs left (journals
// of ended processes, the spool, fatal-error reports); a little later, the code that builds reports loaded.
import type { BacktraceReport, ReportContext } from "../capture/report.js";
import type { FatalCounts } from "../deliver/counters.js";
import { errorText } from "../errors.js";
import { dynamicAttributes, processStaticAttributes } from "../enrich/attributes.js";
import type { ResolvedOptions } from "../options.js";
import type { DropReason } from "../outcome.js";
import type { Payload } from "../payload.js";
import type { Spool } from "../spool/spool.js";
import { loadFatal } from "./lazy.js";
import { startRecovery, type RecoveryHost } from "./recovery.js";
import { watchProcess, type WatchHost } from "./watch.js";

/** How long after initialize a process that lives on loads the code that builds and sends reports (see `watchClient`). */
const PRELOAD_MS = 2000;

/** What of the client its side in the process uses; the process watch and the recovery call its members unbound. */
export interface WatchedClient extends RecoveryHost, Pick<WatchHost, "clientAttributes" | "setAttribute"> {
  reportContext(): ReportContext;
  /** True once the client is finalized: a crash then is for the next client to report. */
  closed(): boolean;
  /** The breadcrumbs a report made now carries. */
  breadcrumbsOf(report: BacktraceReport): NonNullable<BacktraceReport["breadcrumbs"]>;
  /** The report built synchronously; undefined when `beforeSend` dropped it. */
  prepareSync(report: BacktraceReport): Payload | undefined;
  /** Counts a report handed to the client. */
  captured(): void;
  /** Counts a report dropped before delivery. */
  dropped(reason: DropReason): void;
  /** Sends what the spool holds (the delivery's replay). */
  replay(): Promise<void>;
  /** Loads the code that builds and sends reports (the package's second file). */
  preload(): void;
}

export interface ClientWatch {
  /** Crash reports by how their synchronous way out ended. */
  readonly fatal: FatalCounts;
  /** The client's attributes changed: what a fatal-error report would carry is recorded again. */
  attributesChanged(): void;
  /** Removes what the process watch installed (crash hooks first). */
  uninstall(): void;
  /** Stops looking for journals of ended processes. */
  stopRecovery(): void;
}

/** Installs the process watch for `client`; `debug` is undefined unless `debugBacktrace`. */
export function watchClient(client: WatchedClient, options: ResolvedOptions, spool: Spool | undefined, debug: ((message: string) => void) | undefined): ClientWatch {
  const fatal: FatalCounts = { sent: 0, spooled: 0, lost: 0, unreadable: 0 };
  let stopRecovery: (() => void) | undefined;
  /** The process ends when this returns: the report is built, spooled and sent synchronously, within `exitTimeout`. */
  const reportFatal = (report: BacktraceReport): void => {
    const deadline = Date.now() + options.exitTimeout * 1000;
    if (client.closed()) return;
    client.captured();
    report.breadcrumbs = client.breadcrumbsOf(report);
    const payload = client.prepareSync(report);
    if (payload === undefined) return void client.dropped("before-send");
    const outcome = loadFatal().deliverFatal(payload, {
      url: options.submissionUrl,
      ignoreSslCertificate: options.ignoreSslCertificate,
      proxy: options.proxy,
      ca: options.ca,
      deadline,
      spool,
      debug,
    });
    fatal[outcome] += 1;
  };
  // Reports left by an earlier run (a crash, an outage) go out now, off the caller's path. The immediate
  // stays referenced: it ends within this turn of the event loop, while an unreferenced one can wait in
  // the loop's poll until some other event wakes it (the next timer of the application, seconds away).
  setImmediate(() => {
    if (client.closed()) return;
    if (spool) stopRecovery = startRecovery(spool, client, (message) => debug?.(message));
    client.replay().catch((error) => debug?.(`replay failed: ${errorText(error)}`));
    watch.started();
    // The code that builds and sends reports is the package's second file, loaded at the first report. A process that
    // lives on loads it a little after its start, off the start's path: a crash later must not depend on reading a
    // file then (a deploy may have replaced the package meanwhile, the process may be out of descriptors). The timer is
    // set in this first turn, not at initialize: a process's first timer costs its start a few tenths of a millisecond.
    setTimeout(() => {
      if (client.closed()) return;
      try {
        client.preload();
      } catch (error) {
        debug?.(`the code that builds reports could not be loaded: ${errorText(error)}`);
      }
    }, PRELOAD_MS).unref();
  });
  const watch = watchProcess(
    {
      ...client,
      reportFatal,
      fatalUnreadable: () => {
        fatal.unreadable += 1;
      },
      breadcrumbs: (report) => client.breadcrumbsOf(report).entries,
      // The default attributes as read (the report made from the record converts and redacts them, as it does the
      // client's): the code that converts them for a report is not loaded for the record.
      processAttributes: () => ({ ...processStaticAttributes(), ...dynamicAttributes(), ...client.clientAttributes() }),
    },
    options,
    spool?.enabled ? spool.dir : undefined,
    spool?.sealKey(),
    debug,
  );
  return { ...watch, fatal, stopRecovery: () => stopRecovery?.() };
}
