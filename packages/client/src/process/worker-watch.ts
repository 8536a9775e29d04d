// Worker threads that die of their resourceLimits (ERR_WORKER_OUT_OF_MEMORY), seen by the parent through diagnostics_channel and an errorMonitor listener: nothing of the application's Worker changes.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { errorMonitor } from "node:events";
import type { Worker } from "node:worker_threads";
import type { BacktraceReport } from "../capture/report.js";

export interface WorkerInfo {
  threadId: number;
  resourceLimits: unknown;
}

// Node publishes every Worker it creates on this channel (Node 16.?+), before the application's code sees it.
const CHANNEL = "worker_threads";

/** The worker each out-of-memory error came from; the crash path asks when the error ends the process. */
const origins = new WeakMap<object, WorkerInfo>();

/**
 * Watches the workers the process creates. An `errorMonitor` listener sees the 'error' event before the
 * application's listeners and handles nothing: with no 'error' listener Node still raises it as an uncaught
 * exception (the crash path reports it, as OutOfMemory with the worker's id); with one, the process goes on
 * and `onNonFatal` reports it. Returns the function that stops watching new workers.
 */
export function installWorkerWatch(onNonFatal: (error: Error) => void): () => void {
  const onWorker = (message: unknown): void => {
    try {
      const worker = (message as { worker?: Worker }).worker;
      if (worker === undefined) return;
      // Read now: at the error the thread id is already -1.
      const info: WorkerInfo = { threadId: worker.threadId, resourceLimits: worker.resourceLimits };
      worker.on(errorMonitor, (error: unknown) => {
        if (typeof error !== "object" || error === null || (error as { code?: unknown }).code !== "ERR_WORKER_OUT_OF_MEMORY") return;
        origins.set(error, info);
        if (worker.listenerCount("error") > 0) onNonFatal(error as Error);
      });
    } catch {
      // Never into the application's `new Worker()`.
    }
  };
  subscribe(CHANNEL, onWorker);
  return () => void unsubscribe(CHANNEL, onWorker);
}

/**
 * Marks a report of a worker's out-of-memory error: classifier OutOfMemory, the worker's thread id and limits. A worker
 * started before the watch (before initialize) was never seen: its error is known by its code alone, without the id.
 */
export function markWorkerOutOfMemory(report: BacktraceReport, error: unknown): BacktraceReport {
  if (typeof error !== "object" || error === null) return report;
  const info = origins.get(error);
  if (info === undefined) {
    if ((error as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY") report.classifier = "OutOfMemory";
    return report;
  }
  report.classifier = "OutOfMemory";
  report.setAttribute("worker.threadId", info.threadId);
  report.setAnnotation("Worker resource limits", info.resourceLimits);
  return report;
}
