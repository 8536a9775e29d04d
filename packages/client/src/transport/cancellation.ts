// Ends the requests registered with it at once: a cheap AbortSignal for many short requests. Apart from post.ts,
// which is loaded at the first request, so that a client makes its one Cancellation at initialize without it.
export class Cancellation {
  private readonly ends = new Set<() => void>();
  add(end: () => void): void {
    this.ends.add(end);
  }
  delete(end: () => void): void {
    this.ends.delete(end);
  }
  /** Ends every request registered now. */
  cancelAll(): void {
    for (const end of [...this.ends]) end();
  }
}
