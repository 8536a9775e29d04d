// Writes of reports delivery cannot keep in memory to the spool: a few at a time, with a bound on the bytes waiting.
import type { Spool } from "../spool/spool.js";
import type { Payload } from "../payload.js";

export interface SpoolWrites {
  /**
   * Queues a write of `payload`; `done` gets whether it is on disk. False, and nothing queued,
   * when there is no spool or the bytes waiting would pass the bound.
   */
  add(payload: Payload, done: (ok: boolean) => void): boolean;
  /** Writes queued or running. */
  pending(): number;
  /** Payloads of those writes. */
  payloads(): Payload[];
}

export function createSpoolWrites(spool: Spool | undefined, maxPendingBytes: number, writers: number): SpoolWrites {
  // Writes waiting for a writer slot, and how many run.
  const queue: Array<() => Promise<void>> = [];
  const waiting = new Set<Payload>();
  let running = 0;
  let pendingBytes = 0;

  // A few writer slots, so a burst cannot open thousands of files at once.
  function run(): void {
    while (running < writers && queue.length > 0) {
      const task = queue.shift();
      if (!task) break;
      running += 1;
      void task().finally(() => {
        running -= 1;
        run();
      });
    }
  }

  function add(payload: Payload, done: (ok: boolean) => void): boolean {
    const bytes = payload.json.bytes;
    if (!spool || pendingBytes + bytes > maxPendingBytes) return false;
    waiting.add(payload);
    pendingBytes += bytes;
    queue.push(async () => {
      let ok = false;
      try {
        ok = await spool.write(payload);
      } catch {
        ok = false;
      }
      waiting.delete(payload);
      pendingBytes -= bytes;
      done(ok);
    });
    run();
    return true;
  }

  return { add, pending: () => waiting.size, payloads: () => [...waiting] };
}
