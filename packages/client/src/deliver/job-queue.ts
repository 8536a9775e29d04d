// Where delivery's reports are held in memory: queued to send, waiting out a backoff, or in flight.

/** What the queue needs of a job: the handle of its backoff timer while it waits one out. */
export interface QueuedJob {
  timer?: unknown;
}

export interface JobQueue<Job extends QueuedJob> {
  /** Adds a job at the back. */
  push(job: Job): void;
  /** Puts a job back at the front (after its backoff, or to resend it trimmed). */
  pushFront(job: Job): void;
  /** The next job to send, or undefined. */
  take(): Job | undefined;
  /** Holds a job out of the queue while its backoff timer (`job.timer`) runs. */
  hold(job: Job): void;
  /** Moves a held job back to the front; false when it was taken away meanwhile. */
  release(job: Job): boolean;
  /** Marks a job as in flight, or no longer. */
  started(job: Job): void;
  finished(job: Job): void;
  /** Jobs queued or held in backoff. */
  queued(): number;
  /** Jobs held in backoff. */
  holding(): number;
  /** Requests in flight for jobs. */
  inFlight(): number;
  /** Removes every queued and held job (clearing backoff timers) and returns them, queued first. */
  takeAll(): Job[];
  /** Jobs queued or held in backoff, left in place. */
  pending(): Job[];
  /** Every job in memory: queued, held and in flight. */
  all(): Job[];
}

/** `clearTimer` cancels a held job's backoff timer when the job is taken away. */
export function createJobQueue<Job extends QueuedJob>(clearTimer: (handle: unknown) => void): JobQueue<Job> {
  // Jobs ready to send, FIFO; `head` avoids shifting a long array.
  let queue: Job[] = [];
  let head = 0;
  const waiting = new Set<Job>();
  const active = new Set<Job>();

  function take(): Job | undefined {
    if (head >= queue.length) return undefined;
    const job = queue[head];
    queue[head] = undefined as unknown as Job;
    head += 1;
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return job;
  }

  function pushFront(job: Job): void {
    if (head > 0) queue[--head] = job;
    else queue.unshift(job);
  }

  function takeAll(): Job[] {
    for (const job of waiting) clearTimer(job.timer);
    const pending = [...queue.slice(head), ...waiting];
    queue = [];
    head = 0;
    waiting.clear();
    return pending;
  }

  return {
    push: (job) => void queue.push(job),
    pushFront,
    take,
    hold: (job) => void waiting.add(job),
    release: (job) => {
      if (!waiting.delete(job)) return false;
      pushFront(job);
      return true;
    },
    started: (job) => void active.add(job),
    finished: (job) => void active.delete(job),
    queued: () => queue.length - head + waiting.size,
    holding: () => waiting.size,
    inFlight: () => active.size,
    takeAll,
    pending: () => [...queue.slice(head), ...waiting],
    all: () => [...queue.slice(head), ...waiting, ...active],
  };
}
