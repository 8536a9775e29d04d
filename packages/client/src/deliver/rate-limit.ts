// `rateLimit` and `sampleRate`: which new reports are dropped before they are built, and how many were dropped since
// the last report built (sent with it as attributes). Pure: the clock and the random source are parameters.
import type { DropReason } from "../outcome.js";

const MINUTE_MS = 60_000;

export interface ReportLimits {
  /** Undefined when the report may go on, else why it is dropped (counted here for the next report). */
  admit(now?: number, random?: number): Extract<DropReason, "rate-limited" | "sampled-out"> | undefined;
  /** `dropped.rateLimited` and `dropped.sampled` since the last call, or undefined when nothing was dropped. */
  takeDropped(): Record<string, number> | undefined;
}

/** `perMinute` 0 is no limit; `sampleRate` 1 keeps every report. */
export function createReportLimits(perMinute: number, sampleRate: number): ReportLimits {
  // Times of the last `perMinute` reports admitted, in a ring: a sliding minute, never more in any 60 s.
  const times = new Float64Array(perMinute > 0 ? perMinute : 0);
  let next = 0;
  let filled = 0;
  let rateLimited = 0;
  let sampled = 0;
  return {
    admit(now = Date.now(), random = Math.random()) {
      if (sampleRate < 1 && random >= sampleRate) {
        sampled++;
        return "sampled-out";
      }
      if (perMinute > 0) {
        if (filled === perMinute && now - times[next]! < MINUTE_MS) {
          rateLimited++;
          return "rate-limited";
        }
        times[next] = now;
        next = (next + 1) % perMinute;
        if (filled < perMinute) filled++;
      }
      return undefined;
    },
    takeDropped() {
      if (rateLimited === 0 && sampled === 0) return undefined;
      const out: Record<string, number> = {};
      if (rateLimited > 0) out["dropped.rateLimited"] = rateLimited;
      if (sampled > 0) out["dropped.sampled"] = sampled;
      rateLimited = 0;
      sampled = 0;
      return out;
    },
  };
}
