// What an earlier process left captured and unsettled when it was killed: its journal's reports, sent again by this one.
import type { BacktraceReport, ReportSender } from "../capture/report.js";
import { errorText } from "../errors.js";
import type { SendOutcome } from "../outcome.js";
import { safeUuid } from "../spool/spool-files.js";
import type { Spool } from "../spool/spool.js";

export interface RecoveryHost extends ReportSender {
  send(report: BacktraceReport): Promise<SendOutcome>;
  /** The report a journal line stands for (assemble/journal-record.ts), or undefined when it is not one; `parts` are its journal's. */
  restore(uuid: string, record: unknown, parts: ReadonlyMap<string, unknown>): BacktraceReport | undefined;
}

/**
 * Sends every report the journals of ended processes hold open, with its own uuid, except those already in the
 * spool (spooled at exit before their settlement was written). Each report is in this process's journal before
 * the old journal is removed, so a kill during recovery loses nothing either. Returns how many were recovered.
 */
export async function recoverJournals(spool: Spool, host: RecoveryHost, debug: (message: string) => void): Promise<number> {
  const orphans = spool.orphanJournals();
  if (orphans.length === 0) return 0;
  let spooled: Set<string>;
  try {
    spooled = new Set((await spool.list()).map((entry) => entry.uuid));
  } catch {
    spooled = new Set();
  }
  let recovered = 0;
  for (const orphan of orphans) {
    let unreadable = orphan.corrupt;
    for (const { uuid, record } of orphan.records) {
      if (spooled.has(safeUuid(uuid))) continue;
      let report: BacktraceReport | undefined;
      try {
        report = host.restore(uuid, record, orphan.parts);
      } catch (error) {
        debug(`journal: report ${uuid} could not be restored (${errorText(error)})`);
      }
      if (!report) {
        unreadable += 1;
        continue;
      }
      void host.send(report).catch(() => undefined);
      recovered += 1;
    }
    spool.journal()?.flushSync();
    spool.removeJournal(orphan.file);
    if (unreadable > 0) debug(`journal ${orphan.file}: ${unreadable} lines could not be read or did not verify`);
  }
  debug(`recovered ${recovered} reports captured by processes that were killed before they were sent`);
  return recovered;
}

/** How often journals are looked for again: one of another pid namespace is known ended only once its heartbeat stopped. */
const RECOVERY_INTERVAL_MS = 60_000;

/**
 * Recovers at once what ended processes left, then again now and then (a container sharing the folder, whose
 * journal's heartbeat stops only after the start). Returns the function that stops it. Never keeps the process up.
 */
export function startRecovery(spool: Spool, host: RecoveryHost, debug: (message: string) => void): () => void {
  let running = false;
  const recover = (): void => {
    if (running) return;
    running = true;
    recoverJournals(spool, host, debug)
      .catch((error: unknown) => debug(`recovery failed: ${errorText(error)}`))
      .finally(() => (running = false));
  };
  recover();
  const timer = setInterval(recover, RECOVERY_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
