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
  // Times of the reports admitted in the last minute, oldest first from `head`: never more than `perMinute` in any
  // 60 s. Held as they come, so memory follows what is admitted, never the option (a limit of 1e12 allocates nothing).
  let times: number[] = [];
  let head = 0;
  let rateLimited = 0;
  let sampled = 0;
  return {
    admit(now = Date.now(), random = Math.random()) {
      if (sampleRate < 1 && random >= sampleRate) {
        sampled++;
        return "sampled-out";
      }
      if (perMinute > 0) {
        while (head < times.length && now - times[head]! >= MINUTE_MS) head++;
        if (times.length - head >= perMinute) {
          rateLimited++;
          return "rate-limited";
        }
        if (head > 1024 && head * 2 > times.length) {
          times = times.slice(head);
          head = 0;
        }
        times.push(now);
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
