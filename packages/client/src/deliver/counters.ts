// One client's delivery counters over the life of the client: the current delivery, those replaced at exit, crash reports.
import type { DeliveryCounters, LossReason } from "../outcome.js";
import type { Spool } from "../spool/spool.js";

/** How crash reports (sent synchronously, outside delivery) ended. */
export interface FatalCounts {
  sent: number;
  spooled: number;
  lost: number;
  /** Diagnostic reports of earlier crashes that could not be read (cut short by the crash): removed, never sent. */
  unreadable: number;
}

/** The sum: counts only grow, whatever delivery was replaced. The spool's own counts are taken once. */
export function totalCounters(current: DeliveryCounters, retired: readonly DeliveryCounters[], fatal: FatalCounts): DeliveryCounters {
  const total = { ...current, dropped: { ...current.dropped } };
  for (const counts of retired) {
    total.sent += counts.sent;
    total.retried += counts.retried;
    total.spooled += counts.spooled;
    total.replayed += counts.replayed;
    total.failed += counts.failed;
    total.trimmed += counts.trimmed;
    total.queued += counts.queued;
    total.mergedLost += counts.mergedLost;
    total.inFlight += counts.inFlight;
    for (const [reason, n] of Object.entries(counts.dropped) as Array<[LossReason, number]>) {
      // Every delivery of a client shares its spool: those counts are in the current one already.
      if (reason !== "spool-full" && reason !== "spool-corrupt") total.dropped[reason] = (total.dropped[reason] ?? 0) + n;
    }
  }
  total.sent += fatal.sent;
  total.spooled += fatal.spooled;
  total.failed += fatal.spooled + fatal.lost;
  if (fatal.lost > 0) total.dropped.exit = (total.dropped.exit ?? 0) + fatal.lost;
  if (fatal.unreadable > 0) total.dropped["spool-corrupt"] = (total.dropped["spool-corrupt"] ?? 0) + fatal.unreadable;
  return total;
}

/** A delivery's losses with its spool's added: records evicted past the spool's bounds, corrupt ones set aside. */
export function withSpoolLosses(dropped: Partial<Record<LossReason, number>>, spool: Spool | undefined): Partial<Record<LossReason, number>> {
  const all = { ...dropped };
  const fromSpool = spool?.counters();
  if (fromSpool?.evicted) all["spool-full"] = (all["spool-full"] ?? 0) + fromSpool.evicted;
  if (fromSpool?.corrupt) all["spool-corrupt"] = (all["spool-corrupt"] ?? 0) + fromSpool.corrupt;
  return all;
}

/** A delivery's own counts before anything went through it. */
export function zeroCounts(): Pick<DeliveryCounters, "sent" | "retried" | "spooled" | "replayed" | "failed" | "trimmed"> {
  return { sent: 0, retried: 0, spooled: 0, replayed: 0, failed: 0, trimmed: 0 };
}

/** The counts of a client whose delivery is not made yet (nothing has gone through one): its spool's losses alone. */
export function deliveryCountersWithout(spool: Spool | undefined): DeliveryCounters {
  return { ...zeroCounts(), dropped: withSpoolLosses({}, spool), mergedLost: 0, queued: 0, inFlight: 0 };
}
