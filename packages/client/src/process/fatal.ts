// A fatal report's way out, all synchronous: to the spool first, then one POST while the crashing thread waits.
import { decide, describeResult } from "../deliver/decide.js";
import { errorText } from "../errors.js";
import type { Payload } from "../payload.js";
import type { Spool } from "../spool/spool.js";
import type { BlockingPostOptions } from "../transport/blocking-post.js";
import { loadBlockingPost } from "../transport/lazy.js";
import type { TransportResult } from "../transport/post.js";

export type FatalOutcome = "sent" | "spooled" | "lost";

export interface FatalDeliveryOptions {
  /** The submission URL (holds the token). */
  url: string;
  ignoreSslCertificate: boolean;
  proxy?: string | false | undefined;
  ca?: string | undefined;
  /** Epoch milliseconds by which the process must go on ending (crash time + exitTimeout). */
  deadline: number;
  /** Where the report waits if it cannot be sent now; undefined when the spool is off. */
  spool: Pick<Spool, "writeSync" | "removeSync"> | undefined;
  debug?: ((message: string) => void) | undefined;
  now?: () => number;
  post?: (url: string, payload: Payload, options: BlockingPostOptions) => TransportResult;
}

/**
 * The fatal report's way out, all synchronous: to the spool first, then one POST while this
 * thread waits until `deadline`; the spool record is removed after a 2xx. A record left behind
 * is sent, with the same uuid, by the next client started with the same spool. Never throws.
 */
export function deliverFatal(payload: Payload, options: FatalDeliveryOptions): FatalOutcome {
  const now = options.now ?? Date.now;
  const debug = (message: string): void => {
    try {
      options.debug?.(message);
    } catch {
      // Debug output is best effort.
    }
  };
  let spooled = false;
  try {
    spooled = options.spool?.writeSync(payload) ?? false;
  } catch (error) {
    debug(`crash report ${payload.uuid}: spool write failed: ${errorText(error)}`);
  }
  const left = options.deadline - now();
  if (left <= 0) {
    debug(`crash report ${payload.uuid}: no time left to send it`);
    return spooled ? "spooled" : "lost";
  }
  let result: TransportResult;
  try {
    // The blocking POST's code is loaded now, at the crash.
    const post = options.post ?? loadBlockingPost().postReportBlocking;
    result = post(options.url, payload, {
      timeoutMs: left,
      ignoreSslCertificate: options.ignoreSslCertificate,
      proxy: options.proxy,
      ca: options.ca,
      now,
    });
  } catch (error) {
    result = { kind: "error", reason: errorText(error), timeout: false };
  }
  if (result.skipped !== undefined && result.skipped.length > 0) {
    debug(`crash report ${payload.uuid}: attachments skipped: ${result.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`);
  }
  // One try: whatever is not accepted stays in the spool, for the next start's replay to decide on.
  if (decide(result, { attempt: 1, maxAttempts: 1, trimmed: false }).action === "sent") {
    if (spooled) {
      try {
        options.spool?.removeSync(payload.uuid);
      } catch (error) {
        debug(`crash report ${payload.uuid}: sent, but the spool record stays: ${errorText(error)}`);
      }
    }
    debug(`crash report ${payload.uuid} sent`);
    return "sent";
  }
  debug(`crash report ${payload.uuid} not sent (${describeResult(result)}); ${spooled ? "it stays in the spool" : "there is no spool, it is lost"}`);
  return spooled ? "spooled" : "lost";
}
