// The options read from the environment (BACKTRACE_* variables, the working folder's package.json): used by `initialize()` without an endpoint, the register entry and the CLI.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BacktraceConfigError, ErrorCodes, isBacktraceError } from "../errors.js";
import type { BacktraceOptions } from "../options.js";

/** Each variable and the option it sets. */
export const ENV_VARIABLES = {
  BACKTRACE_ENDPOINT: "endpoint",
  BACKTRACE_TOKEN: "token",
  BACKTRACE_ATTRIBUTES: "attributes",
  BACKTRACE_DEBUG: "debugBacktrace",
  BACKTRACE_TIMEOUT: "timeout",
  BACKTRACE_EXIT_TIMEOUT: "exitTimeout",
  BACKTRACE_DISABLE_GLOBAL_HANDLER: "disableGlobalHandler",
  BACKTRACE_SPOOL: "spool",
  BACKTRACE_PROXY: "proxy",
  BACKTRACE_STALL_THRESHOLD: "stallThreshold",
  BACKTRACE_RATE_LIMIT: "rateLimit",
  BACKTRACE_SAMPLE_RATE: "sampleRate",
} as const satisfies Record<string, keyof BacktraceOptions>;

type Variable = keyof typeof ENV_VARIABLES;

/** Options from the environment and which variable gave each (to name it when the option turns out bad). */
export interface EnvOptions {
  options: Partial<BacktraceOptions>;
  sources: Partial<Record<keyof BacktraceOptions, Variable>>;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

function bad(variable: Variable, code: (typeof ErrorCodes)[keyof typeof ErrorCodes], want: string): never {
  // The value is not echoed: a mistyped variable may hold a token.
  throw new BacktraceConfigError(code, variable, `backtrace-ts: environment variable ${variable} must be ${want}.`);
}

function flag(variable: Variable, text: string): boolean {
  const value = text.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  return bad(variable, ErrorCodes.INVALID_OPTION, "true or false (1/0, yes/no, on/off)");
}

/** The number a variable's text reads as; NaN for blanks (which Number reads as 0). */
const toNumber = (text: string): number => (text.trim() === "" ? Number.NaN : Number(text));

function seconds(variable: Variable, text: string): number {
  const value = toNumber(text);
  if (!Number.isFinite(value) || value <= 0) bad(variable, ErrorCodes.INVALID_NUMBER, "a number of seconds greater than 0");
  return value;
}

/** A number whose range the option's own check judges (its error then names the variable, see withEnvOptions). */
function numeric(variable: Variable, text: string): number {
  const value = toNumber(text);
  if (!Number.isFinite(value)) bad(variable, ErrorCodes.INVALID_NUMBER, "a number");
  return value;
}

function attributes(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad("BACKTRACE_ATTRIBUTES", ErrorCodes.INVALID_OPTION, 'a JSON object such as {"service":"api"}');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad("BACKTRACE_ATTRIBUTES", ErrorCodes.INVALID_OPTION, 'a JSON object such as {"service":"api"}');
  }
  return value as Record<string, unknown>;
}

/** `application` and `application.version` from `dir`/package.json; nothing when it is missing or unreadable. */
export function packageAttributes(dir: string, readFile: (path: string) => string = (path) => readFileSync(path, "utf8")): Record<string, string> {
  try {
    const pkg = JSON.parse(readFile(join(dir, "package.json"))) as { name?: unknown; version?: unknown };
    const out: Record<string, string> = {};
    if (typeof pkg.name === "string" && pkg.name !== "") out["application"] = pkg.name;
    if (typeof pkg.version === "string" && pkg.version !== "") out["application.version"] = pkg.version;
    return out;
  } catch {
    return {};
  }
}

/**
 * Reads the BACKTRACE_* variables (an empty one counts as unset) and the working folder's package.json.
 * Throws a `BacktraceConfigError` whose `option` is the variable at fault.
 */
export function readEnvOptions(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  readFile?: (path: string) => string,
): EnvOptions {
  const options: Partial<BacktraceOptions> = {};
  const sources: EnvOptions["sources"] = {};
  const read = (variable: Variable): string | undefined => {
    const value = env[variable];
    if (value === undefined || value === "") return undefined;
    sources[ENV_VARIABLES[variable]] = variable;
    return value;
  };
  const endpoint = read("BACKTRACE_ENDPOINT");
  if (endpoint !== undefined) options.endpoint = endpoint.trim();
  const token = read("BACKTRACE_TOKEN");
  if (token !== undefined) options.token = token.trim();
  const attrs = read("BACKTRACE_ATTRIBUTES");
  const given = attrs === undefined ? {} : attributes(attrs);
  options.attributes = { ...packageAttributes(cwd, readFile), ...given };
  const debug = read("BACKTRACE_DEBUG");
  if (debug !== undefined) options.debugBacktrace = flag("BACKTRACE_DEBUG", debug);
  const timeout = read("BACKTRACE_TIMEOUT");
  if (timeout !== undefined) options.timeout = seconds("BACKTRACE_TIMEOUT", timeout);
  const exitTimeout = read("BACKTRACE_EXIT_TIMEOUT");
  if (exitTimeout !== undefined) options.exitTimeout = seconds("BACKTRACE_EXIT_TIMEOUT", exitTimeout);
  const disable = read("BACKTRACE_DISABLE_GLOBAL_HANDLER");
  if (disable !== undefined) options.disableGlobalHandler = flag("BACKTRACE_DISABLE_GLOBAL_HANDLER", disable);
  // A folder, or a "false" word for no spool at all (a folder named "off" can be given as ./off).
  const spool = read("BACKTRACE_SPOOL");
  if (spool !== undefined) options.spool = FALSE.has(spool.trim().toLowerCase()) ? false : spool;
  const proxy = read("BACKTRACE_PROXY");
  if (proxy !== undefined) options.proxy = FALSE.has(proxy.trim().toLowerCase()) ? false : proxy.trim();
  // The settings a register-only set-up (--import backtrace-ts/register) has no other way to give.
  for (const variable of ["BACKTRACE_STALL_THRESHOLD", "BACKTRACE_RATE_LIMIT", "BACKTRACE_SAMPLE_RATE"] as const) {
    const value = read(variable);
    if (value !== undefined) options[ENV_VARIABLES[variable]] = numeric(variable, value);
  }
  return { options, sources };
}

/**
 * The options of `initialize(given)`: with an endpoint given, `given` alone; without one, the environment's
 * under what `given` sets. `undefined` in `given` leaves the environment's value.
 */
export function withEnvOptions(given: Partial<BacktraceOptions> | undefined, env?: NodeJS.ProcessEnv, cwd?: string): { options: BacktraceOptions; sources: EnvOptions["sources"] } {
  if (given !== undefined && given !== null && typeof given === "object" && given.endpoint !== undefined) {
    return { options: given as BacktraceOptions, sources: {} };
  }
  const fromEnv = readEnvOptions(env, cwd);
  const merged: Record<string, unknown> = { ...fromEnv.options };
  const sources = { ...fromEnv.sources };
  if (given !== undefined && given !== null && typeof given === "object") {
    for (const key of Object.keys(given) as (keyof BacktraceOptions)[]) {
      const value = given[key];
      if (value === undefined) continue;
      merged[key] = key === "attributes" && typeof value === "object" ? { ...fromEnv.options.attributes, ...value } : value;
      delete sources[key];
    }
  }
  if (merged["endpoint"] === undefined) {
    throw new BacktraceConfigError(
      ErrorCodes.INVALID_ENDPOINT,
      "endpoint",
      'backtrace-ts: no endpoint: pass { endpoint } to initialize or set BACKTRACE_ENDPOINT (e.g. "https://submit.backtrace.io/<universe>/<token>/json").',
    );
  }
  return { options: merged as unknown as BacktraceOptions, sources };
}

function variableOf(option: keyof BacktraceOptions): Variable | undefined {
  return (Object.keys(ENV_VARIABLES) as Variable[]).find((variable) => ENV_VARIABLES[variable] === option);
}

/** A configuration error about an option that came from a variable, rethrown naming the variable. */
export function blameVariable(error: unknown, sources: EnvOptions["sources"]): unknown {
  if (!isBacktraceError(error) || !(error instanceof BacktraceConfigError)) return error;
  // An option missing from the environment while the endpoint came from it (a token, say) is named by its variable too.
  const option = error.option as keyof BacktraceOptions;
  const variable = sources[option] ?? (sources.endpoint === undefined ? undefined : variableOf(option));
  if (variable === undefined) return error;
  return new BacktraceConfigError(error.code, variable, `${error.message} (from the environment variable ${variable})`);
}
