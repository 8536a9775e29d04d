// The zero-code setup behind `node --import backtrace-ts/register` and `--require`: the default client from the environment, or one line on stderr.
// Kept small on purpose: without an endpoint nothing else loads (no main bundle, no node:worker_threads, no package.json read).
import { isMainThread, requireFs } from "../builtins.js";

/** What register needs of the package's main entry, loaded only once an endpoint is set. */
export type Initialize = () => unknown;

// Once per process, whichever build (or both) was preloaded.
const DONE = Symbol.for("backtrace-ts.registered");

/**
 * stderr without creating `process.stderr` (its stream costs about half a millisecond to set up), as Node writes it:
 * synchronously. node:fs is required, not imported: in the ES module build an import of it costs about 3 ms.
 */
function stderrLine(text: string): void {
  try {
    requireFs().writeSync(2, `${text}\n`);
  } catch {
    // stderr closed or full: the line is advice, the application must not notice.
  }
}

/**
 * One line for stderr: never the token (config errors do not echo values), never a stack. Not errors.ts's
 * `errorText`: that file imports node:util, one more builtin for `--import` to link before the application starts.
 */
function line(error: unknown): string {
  let code: unknown;
  let text: string;
  try {
    code = (error as { code?: unknown } | null)?.code;
    text = error instanceof Error ? String(error.message) : String(error);
  } catch {
    text = "unknown error";
  }
  text = text.replace(/^BT_\w+: /, "").replace(/^backtrace-ts: /, "").replace(/\s+/g, " ");
  return `backtrace-ts/register: ${typeof code === "string" ? `${code} ` : ""}${text} Reports are off.`;
}

/**
 * Initializes the default client from the environment. Never throws and never stops the application: a bad
 * variable or a missing endpoint is one line on stderr and the application runs on unreported. The variables
 * themselves are read and checked by `initialize()` (the main bundle), which names a bad one.
 */
export function register(load: () => Initialize | Promise<Initialize>, print: (text: string) => void = stderrLine): void | Promise<void> {
  try {
    const holder = globalThis as { [DONE]?: boolean };
    if (holder[DONE]) return;
    holder[DONE] = true;
    // NODE_OPTIONS preloads run again in every worker thread; the main thread's client covers the process.
    if (!isMainThread()) return;
    const endpoint = process.env["BACKTRACE_ENDPOINT"];
    if (endpoint === undefined || endpoint === "") {
      print("backtrace-ts/register: BACKTRACE_ENDPOINT is not set; reports are off.");
      return;
    }
  } catch (error) {
    print(line(error));
    return;
  }
  const start = (initialize: Initialize): void => {
    try {
      initialize();
    } catch (error) {
      print(line(error));
    }
  };
  try {
    const loaded = load();
    if (loaded instanceof Promise) return loaded.then(start, (error: unknown) => print(line(error)));
    start(loaded);
  } catch (error) {
    print(line(error));
  }
}
