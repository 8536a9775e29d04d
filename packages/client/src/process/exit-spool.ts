// The exit paths' part of the client, where nothing async runs: decisions still held (an answer not finished) made now,
// and every report not built yet built and written to the spool, within `exitTimeout`.
import type { BacktraceReport } from "../capture/report.js";
import type { DropReason, SendOutcome } from "../outcome.js";
import type { Payload } from "../payload.js";

/** Reports still to be decided (see `BacktraceClient.holdDecision`): each a function that decides it now. */
export class HeldDecisions {
  private readonly decisions = new Set<() => void>();

  get size(): number {
    return this.decisions.size;
  }

  /** Holds `decide` until the function returned is called (once). */
  hold(decide: () => void, released: () => void): () => void {
    this.decisions.add(decide);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.decisions.delete(decide);
      released();
    };
  }

  /** Makes every decision still held now, with what is known so far. */
  decideAll(): void {
    for (const decide of [...this.decisions]) {
      try {
        decide();
      } catch {
        // A decision that fails is the integration's; the rest are still made.
      }
    }
  }
}

/** What of the client's stages the exit path uses (the journal, the pipeline, the assembler, the spool). */
export interface UnbuiltSpooling {
  held: HeldDecisions;
  journal: { flushSync(): void } | undefined;
  pipeline: { takeAll(): Array<{ report: BacktraceReport; settle: (outcome: SendOutcome) => void }> };
  assembler: { prepareSync(report: BacktraceReport): Payload | undefined };
  spool: { writeSync(payload: Payload): boolean } | undefined;
  exitTimeoutSeconds: number;
  discard(report: BacktraceReport, reason: DropReason): SendOutcome;
}

/**
 * Builds every report not built yet and writes it to the spool; for the exit paths, where nothing async runs.
 * Bounded by `exitTimeout`: what is left then is counted as dropped ("exit").
 */
export function spoolUnbuiltSync(parts: UnbuiltSpooling): void {
  parts.held.decideAll();
  // First what the journal holds: whatever cannot be spooled in time is still recovered by the next start.
  parts.journal?.flushSync();
  const deadline = performance.now() + parts.exitTimeoutSeconds * 1000;
  for (const { report, settle } of parts.pipeline.takeAll()) {
    try {
      const payload = performance.now() < deadline ? parts.assembler.prepareSync(report) : undefined;
      const spooled = payload !== undefined && parts.spool?.writeSync(payload) === true;
      settle(spooled ? { status: "failed", uuid: report.uuid, reason: "exit", spooled: true } : parts.discard(report, "exit"));
    } catch {
      settle(parts.discard(report, "exit"));
    }
  }
}
