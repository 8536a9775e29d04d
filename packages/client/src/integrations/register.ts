// The zero-code setup behind `node --import backtrace-ts/register` and `--require`: the default client from the environment, or one line on stderr.
import { lazyWorkers } from "../builtins.js";
import { readEnvOptions } from "./env.js";
import { errorText } from "../errors.js";

/** What register needs of the package's main entry, loaded only once an endpoint is set. */
export type Initialize = () => unknown;

// Once per process, whichever build (or both) was preloaded.
const DONE = Symbol.for("backtrace-ts.registered");

/** One line for stderr: never the token (config errors do not echo values), never a stack. */
function line(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const text = errorText(error).replace(/^BT_\w+: /, "").replace(/^backtrace-ts: /, "").replace(/\s+/g, " ");
  return `backtrace-ts/register: ${typeof code === "string" ? `${code} ` : ""}${text} Reports are off.`;
}

/**
 * Initializes the default client from the environment. Never throws and never stops the application: a bad
 * variable or a missing endpoint is one line on stderr and the application runs on unreported.
 */
export function register(load: () => Initialize | Promise<Initialize>, print: (text: string) => void = (text) => void process.stderr.write(`${text}\n`)): void | Promise<void> {
  try {
    // NODE_OPTIONS preloads run again in every worker thread; the main thread's client covers the process.
    if (!lazyWorkers().isMainThread) return;
    const holder = globalThis as { [DONE]?: boolean };
    if (holder[DONE]) return;
    holder[DONE] = true;
    if (readEnvOptions().options.endpoint === undefined) {
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
