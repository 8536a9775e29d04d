// What a report's delivery came to, and the delivery counters: the public types of delivery, in a leaf
// module so that the published declarations need none of delivery's internals.

export type SendOutcome =
  | { status: "sent"; uuid: string; rxid: string | undefined }
  | { status: "failed"; uuid: string; reason: string; httpStatus?: number; spooled: boolean; detail?: string }
  | { status: "dropped"; uuid: string; reason: string; detail?: string };

export interface DeliveryCounters {
  /** Reports the server accepted, replayed ones included. */
  sent: number;
  /** Retries made (a report sent three times counts two). */
  retried: number;
  /** Reports written to the spool by this delivery. */
  spooled: number;
  /** Spooled reports delivered and deleted from the spool. */
  replayed: number;
  /** submit() outcomes with status "failed" (spooled or not). */
  failed: number;
  /** Reports resent once with a trimmed body after a 413. */
  trimmed: number;
  /** Reports lost for good, by reason. */
  dropped: Record<string, number>;
  /** Reports waiting in memory (queued or in backoff). */
  queued: number;
  /** Requests in flight. */
  inFlight: number;
}
