// Every default of the client in one place: the options' (public, in their units) and the limits of delivery and the spool (a leaf: delivery and the spool read it without the option checks).

/** Defaults, in the units of the options (seconds where backtracepython uses seconds). */
export const defaults = {
  /** backtracepython: 4 seconds. */
  timeout: 4,
  ignoreSslCertificate: false,
  debugBacktrace: false,
  disableGlobalHandler: false,
  /** backtracepython: 200 lines above and below. */
  contextLineCount: 200,
  /** backtracepython: 8. */
  tabWidth: 8,
  collectSourceCode: true,
  /** Seconds to wait for pending reports at exit or at a crash. */
  exitTimeout: 4,
  sourceMaps: true,
  spoolMaxRecords: 1000,
  /** 50 MB. */
  spoolMaxBytes: 50 * 1024 * 1024,
  /** 1 MB. */
  maxReportBytes: 1024 * 1024,
  queueSize: 1000,
  /** Parallel submissions; also the socket limit of the keep-alive agent. */
  concurrency: 4,
  /** Breadcrumbs: every automatic source on; limits as @backtrace/node's (100 entries, 255 characters, depth 2, 64 KB each). */
  breadcrumbs: {
    console: true,
    http: true,
    warnings: true,
    maxEntries: 100,
    maxMessageLength: 255,
    maxAttributeDepth: 2,
    /** The whole `bt-breadcrumbs-0` attachment; the oldest entries go first past it. Also the most one entry may take. */
    maxBytes: 64 * 1024,
  },
  /** `Error.stackTraceLimit` set at initialize, unless the application changed Node's 10 itself. */
  stackTraceLimit: 50,
  /** 10 MB: in-memory attachments of one report (client's and report's); past it the last added are left out and counted. */
  maxAttachmentBytes: 10 * 1024 * 1024,
  /** Out-of-memory and fatal errors reported through Node's diagnostic report, unless the application configured `process.report`. */
  fatalErrorReports: true,
  /** Seconds of a blocked event loop before an `EventLoopStall` report; 0 is off (the watchdog is opt-in). */
  stallThreshold: 0,
  /** Storm control: a report with the fingerprint of one still waiting to be built is counted in it (`_mod_duplicate`). */
  aggregateDuplicates: true,
  /**
   * 100 ms: how long a report that may take duplicates waits before it is built. An error a service throws now and
   * then is sent 0.1 s later; one it throws hundreds of times a second becomes a few reports a second, each counting
   * its occurrences, instead of one request per occurrence. Written ahead to the journal at capture, as always.
   */
  aggregateWindow: 0.1,
  /** Reports per minute at most (a sliding minute); 0 is off, as in @backtrace/node. Crash reports are never limited. */
  rateLimit: 0,
  /** Share of reports kept, 0 to 1; the rest are dropped and counted. Crash reports are always kept. */
  sampleRate: 1,
} as const;

/** Limits of delivery that are not options; with the defaults above, the only place defaults are written. */
export const deliveryDefaults = {
  queueSize: defaults.queueSize, // reports held in memory (queued, in backoff or in flight); overflow goes to the spool
  concurrency: defaults.concurrency, // requests in flight and keep-alive sockets; at most maxConcurrency
  maxConcurrency: 8, // the largest `concurrency` accepted
  maxPendingSpoolBytes: 32 * 1024 * 1024, // overflow bytes waiting for the spool; past it overflow is dropped
  spoolWriters: 4, // spool writes running at once
  holdLimit: 10_000, // reports held in memory while delivery is busy and the endpoint answers (while it fails, queueSize); past it building goes on and delivery spools the overflow
  maxBacklog: 20_000, // unbuilt reports at most; past it new reports are dropped and counted
};

/** Retries of one report. */
export const retryDefaults = {
  maxAttempts: 4, // tries per report, the first one included; then it goes to the spool
  baseDelayMs: 500, // backoff before the first retry
  factor: 2, // each further retry waits this many times longer
  maxDelayMs: 30_000, // cap on one backoff delay
  jitter: 0.5, // up to this fraction of a delay is taken off at random
  maxRetryAfterMs: 120_000, // longest Retry-After honoured; longer values are cut to this
};

/** Limits of one connection of the client's HTTP/1.1 pool (transport/http1.ts); the request's `timeout` bounds them all. */
export const connectionDefaults = {
  connectTimeoutMs: 10_000, // TCP connect, the proxy's CONNECT answer and the TLS handshake, together
  headTimeoutMs: 30_000, // longest silence from the request's first byte until the answer's head is complete
  bodyTimeoutMs: 30_000, // longest silence between two reads of the answer's body
  idleCloseMs: 4000, // an idle connection is closed after this long, before most servers close it under a request
  keepAliveMarginMs: 1000, // an idle connection is closed this long before the server's `Keep-Alive: timeout=N` runs out
  maxHeadBytes: 64 * 1024, // answer heads longer than this are refused: no submission server sends one
};

/** The on-disk spool's bounds, when `createSpool` is given none. */
export const spoolDefaults = {
  maxRecords: defaults.spoolMaxRecords, // records kept on disk; past it the oldest are deleted
  maxBytes: defaults.spoolMaxBytes, // bytes kept on disk; past it the oldest are deleted
};

/** Breadcrumb settings once checked: which automatic sources are on, and the limits. */
export interface ResolvedBreadcrumbs {
  console: boolean;
  http: boolean;
  warnings: boolean;
  maxEntries: number;
  maxMessageLength: number;
  maxAttributeDepth: number;
  maxBytes: number;
}
