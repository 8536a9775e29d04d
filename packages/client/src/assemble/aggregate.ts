// Duplicate aggregation (storm control): a report with the fingerprint of one still waiting to be built is counted in
// that one instead of being built; the occurrences merged, and those lost with the report that carried them, counted.
import { loadFingerprint } from "../capture/lazy.js";
import type { BacktraceReport } from "../capture/report.js";
import type { SendOutcome } from "../outcome.js";
import type { Journal } from "../spool/journal.js";
import { loadJournalRecord } from "./lazy.js";
import type { Pipeline } from "./pipeline.js";

export interface AggregationCounts {
  /** Occurrences counted in another report (its `_mod_duplicate`) instead of being sent on their own. */
  merged: number;
  /** Of those, occurrences whose report was lost after all (dropped, or failed and not spooled). */
  mergedLost: number;
}

export interface Aggregation {
  /** The report's duplicate key, or undefined when it is never merged. */
  key(report: BacktraceReport): string | undefined;
  /** Merges the report into the waiting one of the same key; its outcome then, or undefined when none waits. */
  merge(report: BacktraceReport, key: string, pipeline: Pipeline, journal: Journal | undefined): Promise<SendOutcome> | undefined;
  /**
   * The report is dropped now (at exit with nothing to spool it to, by beforeSend, a build failure): the occurrences
   * merged into it are counted lost at once, not when its outcome settles, which at exit never comes.
   */
  lostWith(report: BacktraceReport): void;
  counts(): AggregationCounts;
}

/** The occurrences merged into one sending of a report, and whether they were counted lost already. */
interface Carried {
  merged: number;
  counted: boolean;
  outcome: Promise<SendOutcome>;
}

export function createAggregation(config: { enabled: boolean; debug?: ((message: string) => void) | undefined }): Aggregation {
  const counts: AggregationCounts = { merged: 0, mergedLost: 0 };
  // A report's scope (and the version of its values then) and the client state it was made with are compared by
  // identity: the key holds their numbers.
  const ids = new WeakMap<object, number>();
  let nextId = 0;
  const idOf = (value: object | undefined): number => {
    if (value === undefined) return 0;
    let id = ids.get(value);
    if (id === undefined) ids.set(value, (id = ++nextId));
    return id;
  };
  const lost = (outcome: SendOutcome): boolean => outcome.status === "dropped" || (outcome.status === "failed" && !outcome.spooled);
  // Every occurrence merged into one report gets the same promise, made with the first: a storm holds one promise and
  // one reaction per report sent, not one per occurrence until that report settles. Kept by the sending's own outcome, not
  // by the report: a report object sent again is another sending, which settles (and loses its occurrences) on its own.
  const carried = new WeakMap<Promise<SendOutcome>, Carried>();
  // The same entries by report, for a loss known at once; the latest sending's.
  const byReport = new WeakMap<BacktraceReport, Carried>();
  const countLost = (entry: Carried): void => {
    if (entry.counted) return;
    entry.counted = true;
    counts.mergedLost += entry.merged;
  };

  return {
    key(report) {
      if (!config.enabled) return undefined;
      const print = loadFingerprint().fingerprint(report);
      return print === undefined ? undefined : `${idOf(report.scope)}.${report.scopeVersion}:${idOf(report.context)}:${print}`;
    },
    merge(report, key, pipeline, journal) {
      const into = pipeline.merge(key, Math.floor(Date.now() / 1000));
      if (!into) return undefined;
      counts.merged++;
      // The record written ahead for the waiting report gets the new count: a kill from now on loses no occurrence.
      journal?.patch(into.report.uuid, () => loadJournalRecord().duplicatesPatch(into.report)());
      config.debug?.(`report ${report.uuid} merged into ${into.report.uuid} (${into.report.duplicates?.count ?? 1} occurrences)`);
      let entry = carried.get(into.outcome);
      if (entry === undefined) {
        const made: Carried = { merged: 0, counted: false, outcome: into.outcome };
        made.outcome = into.outcome.then((outcome) => {
          // Read when it settles: every occurrence merged into it by then (none is merged once it is being built).
          if (lost(outcome)) countLost(made);
          return outcome;
        });
        carried.set(into.outcome, (entry = made));
        byReport.set(into.report, made);
      }
      entry.merged++;
      return entry.outcome;
    },
    lostWith(report) {
      const entry = byReport.get(report);
      if (entry) countLost(entry);
    },
    counts: () => ({ ...counts }),
  };
}
