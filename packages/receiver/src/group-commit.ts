// Group commit: reports that finish arriving in the same turn of the event loop are inserted in one transaction.
import type { InsertResult, NewReport, Store } from "./store.js";

export interface GroupCommit {
  /** Queues a report; resolves once the transaction holding it has committed, rejects when it could not be stored. */
  insert(report: NewReport): Promise<InsertResult>;
  /** Commits whatever is queued, now. */
  flush(): void;
}

interface Pending {
  report: NewReport;
  resolve: (result: InsertResult) => void;
  reject: (error: unknown) => void;
}

/**
 * One commit per event-loop turn instead of one per report: each commit rewrites the index and group pages it
 * touches, so sharing it is where most of the ingest time is saved. `schedule` defaults to setImmediate, which runs
 * after every request whose body completed in this turn has been parsed, validated and queued.
 */
export function createGroupCommit(
  store: Pick<Store, "insertReport" | "insertReports">,
  schedule: (run: () => void) => void = setImmediate,
): GroupCommit {
  let pending: Pending[] = [];

  function flush(): void {
    const batch = pending;
    if (batch.length === 0) return;
    pending = [];
    let results: InsertResult[];
    try {
      results = store.insertReports(batch.map((p) => p.report));
    } catch {
      // The whole transaction rolled back; give each report its own try so one failure is not everyone's.
      for (const p of batch) {
        try {
          p.resolve(store.insertReport(p.report));
        } catch (error) {
          p.reject(error);
        }
      }
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }

  return {
    insert(report) {
      return new Promise<InsertResult>((resolve, reject) => {
        if (pending.length === 0) schedule(flush);
        pending.push({ report, resolve, reject });
      });
    },
    flush,
  };
}
