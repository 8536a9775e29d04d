// What a client watches in the process beyond its own calls: uncaught exceptions and rejections, workers that run out
// of memory, fatal errors (Node's diagnostic report into the spool), and, opt-in, a stalled event loop.
import { isMainThread } from "../builtins.js";
import { errorText } from "../errors.js";
import { internalReport, type BacktraceReport, type ReportSender } from "../capture/report.js";
import type { ResolvedOptions } from "../options.js";
import { installCrashHandlers, type CrashKind } from "./crash.js";
import { fatalReportsWaiting } from "../spool/fatal-folder.js";
import { loadFatalReplay, loadStall } from "./lazy.js";
import { setupFatalReports, type FatalSetup } from "./fatal-setup.js";
import { installWorkerWatch, markWorkerOutOfMemory } from "./worker-watch.js";

export interface WatchHost extends ReportSender {
  /** The process ends when this returns: build, spool and send synchronously. */
  reportFatal(report: BacktraceReport): void;
  /** A diagnostic report of an earlier crash could not be read (cut short by the crash): it is removed, and counted. */
  fatalUnreadable(): void;
  /** The breadcrumbs a report made now would carry (for the stall watchdog, read on the paused main thread). */
  breadcrumbs(report: BacktraceReport): unknown[];
  /** What a report of this process carries as attributes: the defaults, initialize's and the client's. */
  processAttributes(): Record<string, unknown>;
  /** The client's own attributes (initialize's and those set since). */
  clientAttributes(): Record<string, unknown>;
  setAttribute(key: string, value: unknown): void;
}

export interface ProcessWatch {
  /** Once the client is up (first turn of the event loop): fatal reports of earlier runs are sent. */
  started(): void;
  /** The client's attributes changed: what a fatal-error report would carry is recorded again. */
  attributesChanged(): void;
  /** Removes everything it installed (crash hooks first). */
  uninstall(): void;
}

/** `spoolDir` and `spoolKey`: the folder and key of the client's spool, which checked the folder just now (undefined when off). */
export function watchProcess(
  host: WatchHost,
  options: ResolvedOptions,
  spoolDir: string | undefined,
  spoolKey: Buffer | undefined,
  debug: ((message: string) => void) | undefined,
): ProcessWatch {
  const undo: Array<() => void> = [];
  /** Stops the stall watchdog, if one runs: a crash's synchronous way out holds the main thread, and is no stall. */
  let stopStall: (() => void) | undefined;
  const background = (report: BacktraceReport): void => void host.send(report).catch(() => undefined);
  if (!options.disableGlobalHandler) {
    undo.push(
      installCrashHandlers({
        onFatal: (error, kind: CrashKind) => {
          try {
            stopStall?.();
          } catch {
            // The crash report matters more than the watchdog's end.
          }
          stopStall = undefined;
          host.reportFatal(markWorkerOutOfMemory(internalReport(host).setException(error, kind), error));
        },
        onNonFatal: (error, kind) => background(internalReport(host).setException(error, kind)),
        debug,
      }),
    );
    undo.push(installWorkerWatch((error) => background(markWorkerOutOfMemory(internalReport(host).setException(error, "Crash"), error))));
  }
  const main = isMainThread();
  let fatal: FatalSetup | undefined;
  if (spoolDir !== undefined && options.fatalErrorReports && main) {
    fatal = setupFatalReports({ spoolDir, key: spoolKey, debug });
    // initialize's attributes now (a crash may come before the first turn of the loop), the defaults with them just after.
    fatal?.write(host.clientAttributes());
  }
  if (fatal) undo.push(() => fatal?.uninstall());
  if (options.stallThreshold > 0 && main) {
    const o = options;
    let stall: ReturnType<typeof loadStall> | undefined;
    try {
      stall = loadStall();
    } catch (error) {
      debug?.(`the stall watchdog is off: ${errorText(error)}`);
    }
    const stallContext = stall?.stallContext;
    const stop = stall?.startStallWatchdog({
      ...{ thresholdSeconds: o.stallThreshold, url: o.submissionUrl, ignoreSslCertificate: o.ignoreSslCertificate, proxy: o.proxy, ca: o.ca, timeoutMs: o.timeout * 1000, spoolDir },
      options: { ...o, beforeSend: undefined, attributes: {} },
      context: () => stallContext!(internalReport(host), () => host.breadcrumbs(internalReport(host))),
      onEnded: (seconds) => host.setAttribute("eventLoopStall.lastSeconds", seconds),
      debug,
    });
    if (stop) {
      stopStall = stop;
      undo.push(() => {
        stopStall?.();
        stopStall = undefined;
      });
    }
  }
  return {
    started() {
      fatal?.write(host.processAttributes());
      // Records of ended processes are pruned now, not at initialize: nothing reads them before a report is replayed.
      fatal?.prune();
      // The replay's code is loaded only when there is a report to replay.
      if (spoolDir === undefined || !fatalReportsWaiting(spoolDir)) return;
      try {
        void loadFatalReplay().replayFatalReports(host, spoolDir, debug, () => host.fatalUnreadable());
      } catch (error) {
        debug?.(`fatal error reports not replayed: ${errorText(error)}`);
      }
    },
    attributesChanged() {
      fatal?.update(() => host.processAttributes());
    },
    uninstall() {
      for (const fn of undo.splice(0)) fn();
    },
  };
}
