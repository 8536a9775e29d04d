// How the `backtrace-ts` command starts: its entry (cli-bin.ts, dist/cli.mjs) puts a mark under a global and loads the
// main bundle, which then runs the command (index.ts); the command's code is loaded only then (integrations/lazy.ts).
export const CLI_KEY = "backtrace-ts.command-line";

/** True, once, when the command's entry loaded this bundle to run the command; false anywhere else. */
export function takeCommandLine(): boolean {
  const holder = globalThis as Record<symbol, unknown>;
  if (holder[Symbol.for(CLI_KEY)] !== true) return false;
  delete holder[Symbol.for(CLI_KEY)];
  return true;
}
