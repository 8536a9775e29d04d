// What happens to reports still pending when the process is about to end, normally or by process.exit().

export interface ExitHooks {
  /** True while any report is not settled yet (unbuilt, queued or in flight). */
  pending(): boolean;
  /** Waits for pending reports, at most `seconds`; true when all settled. */
  flush(seconds: number): Promise<boolean>;
  /** Builds every report not built yet and writes it to the spool, synchronously. */
  spoolUnbuiltSync(): void;
  /** Writes what delivery holds to the spool, synchronously (after process.exit() nothing else runs). */
  spoolDeliverySync(): void;
  /** The wait is over: settle what delivery holds (to the spool) and go on with a fresh delivery. */
  abandonDelivery(): void;
}

/** What the client tells the exit handling. */
export interface ExitHandling {
  /** A report is pending: listen for the end of the process. */
  watch(): void;
  /** Nothing is pending any more: stop listening. */
  idle(): void;
  /** Removes the listeners for good. */
  uninstall(): void;
}

/**
 * When the event loop empties with reports pending ('beforeExit'), the process is kept up while they
 * leave, until one deadline `exitTimeoutSeconds` after the first such moment; then what is left goes
 * to the spool and the process ends as it would have. Submissions never keep the process up by
 * themselves, so an application that is done ends at most `exitTimeoutSeconds` later.
 *
 * The 'beforeExit' and 'exit' listeners are there only while some client has reports pending: an
 * application's own listener of those events then runs alone, as without the library, so even an error
 * thrown from it prints the same stack.
 */
export function installExitHandling(
  hooks: ExitHooks,
  exitTimeoutSeconds: number,
  now: () => number = () => performance.now(),
): ExitHandling {
  let deadline: number | undefined;
  let flushing = false;

  const giveUp = (): void => {
    deadline = undefined;
    hooks.spoolUnbuiltSync();
    hooks.abandonDelivery();
  };

  const onBeforeExit = (): void => {
    if (flushing) return;
    if (!hooks.pending()) {
      deadline = undefined;
      return;
    }
    deadline ??= now() + exitTimeoutSeconds * 1000;
    const remaining = deadline - now();
    if (remaining <= 0) return giveUp();
    flushing = true;
    void hooks.flush(remaining / 1000).then((done) => {
      flushing = false;
      if (done) deadline = undefined;
      else if (deadline !== undefined && now() >= deadline) giveUp();
    });
  };

  const onExit = (): void => {
    try {
      hooks.spoolUnbuiltSync();
      hooks.spoolDeliverySync();
    } catch {
      // The process is ending; there is nothing left to report this to.
    }
  };

  const entry = { onBeforeExit, onExit };
  let installed = true;
  return {
    watch() {
      if (!installed || watching.has(entry)) return;
      watching.add(entry);
      if (watching.size === 1) {
        process.on("beforeExit", dispatchBeforeExit);
        process.on("exit", dispatchExit);
      }
    },
    idle() {
      // A flush under way holds the process up by its own timer; its end settles the deadline.
      if (!flushing) deadline = undefined;
      unwatch(entry);
    },
    uninstall() {
      installed = false;
      unwatch(entry);
    },
  };
}

function unwatch(entry: { onBeforeExit(): void; onExit(): void }): void {
  if (!watching.delete(entry) || watching.size > 0) return;
  process.off("beforeExit", dispatchBeforeExit);
  process.off("exit", dispatchExit);
}

// One listener of each kind for all clients with reports pending: many clients must not trip Node's
// listener-count warning.
const watching = new Set<{ onBeforeExit(): void; onExit(): void }>();
const dispatchBeforeExit = (): void => {
  for (const entry of [...watching]) entry.onBeforeExit();
};
const dispatchExit = (): void => {
  for (const entry of [...watching]) entry.onExit();
};
