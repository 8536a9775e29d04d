// The shared memory through which the crash path's sender thread hands its result to the thread that waits for it.
import type { TransportResult } from "./post.js";

/** Bytes for the result, as JSON text; a longer answer body is cut to fit. */
export const RESULT_BYTES = 8192;
/** What the body of an answer may keep of the result's room; the rest is for the other fields. */
const BODY_CHARS = 4096;
// Layout: two Int32 slots, then the result's UTF-8 JSON text.
const STATE = 0; // 0 while pending, 1 once the result is written
const LENGTH = 1; // bytes of JSON text
const HEADER_BYTES = 8;

/** A channel of one result: made by the waiting thread, written once by the sender thread. */
export function createChannel(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + RESULT_BYTES);
}

/** Sender side: writes the result and wakes the waiting thread. */
export function writeResult(shared: SharedArrayBuffer, result: TransportResult): void {
  const head = new Int32Array(shared, 0, 2);
  const fitted = result.kind === "response" && result.body.length > BODY_CHARS ? { ...result, body: result.body.slice(0, BODY_CHARS) } : result;
  let bytes = Buffer.from(JSON.stringify(fitted), "utf8");
  if (bytes.length > RESULT_BYTES) {
    const small: TransportResult = fitted.kind === "response" ? { kind: "response", status: fitted.status, body: "" } : { kind: "error", reason: fitted.reason.slice(0, 1000), timeout: fitted.timeout };
    bytes = Buffer.from(JSON.stringify(small), "utf8");
  }
  new Uint8Array(shared, HEADER_BYTES).set(bytes);
  head[LENGTH] = bytes.length;
  Atomics.store(head, STATE, 1);
  Atomics.notify(head, STATE);
}

/**
 * Waiting side: blocks this thread (Atomics.wait) until the result is written or `deadline` passes.
 * Undefined when no result came in time.
 */
export function waitForResult(shared: SharedArrayBuffer, deadline: number, now: () => number): TransportResult | undefined {
  const head = new Int32Array(shared, 0, 2);
  for (;;) {
    const left = deadline - now();
    if (left <= 0 || Atomics.load(head, STATE) !== 0) break;
    Atomics.wait(head, STATE, 0, left);
  }
  if (Atomics.load(head, STATE) === 0) return undefined;
  const length = Math.min(Math.max(0, head[LENGTH] ?? 0), RESULT_BYTES);
  // Copied out first: a TextDecoder does not read shared memory.
  const text = Buffer.from(new Uint8Array(shared, HEADER_BYTES, length)).toString("utf8");
  try {
    return JSON.parse(text) as TransportResult;
  } catch {
    return { kind: "error", reason: "the sender thread's result could not be read", timeout: false };
  }
}
