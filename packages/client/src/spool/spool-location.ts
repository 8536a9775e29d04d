// Where the default spool folder lives: the platform's cache folder, its fallbacks, and the first one that can be used.
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { createSpool, type Spool, type SpoolOptions } from "./spool.js";
import { sha256 } from "./sha256.js";

/**
 * The per-user cache folder for a submission URL; the token never appears in the path. Throws when the
 * platform's cache folder needs a home directory that cannot be found; `spoolDirCandidates` does not.
 */
export function defaultSpoolDir(
  submissionUrl: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string | (() => string) = homedir,
): string {
  const first = spoolDirCandidates(submissionUrl, { env, platform, home, tmp: () => "" })[0];
  if (first === undefined) throw new Error("no home directory for the spool's cache folder");
  return first;
}

export interface SpoolPlaces {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** The home directory; may throw (a uid without a passwd entry and no HOME). */
  home?: string | (() => string);
  /** The OS temp folder; an empty string leaves the temp fallback out. */
  tmp?: () => string;
  /** Names the temp fallback per user; defaulted to `process.getuid()`. */
  uid?: number | undefined;
}

/**
 * Where the default spool may live, best first: the platform's cache folder (`XDG_CACHE_HOME`, then
 * `~/.cache` on Linux), then a per-user folder under the OS temp folder (`backtrace-ts-<uid>`, made 0700).
 * A home directory that cannot be found (`docker run --user 12345`, OpenShift) only removes the entries
 * that need it. Never throws.
 */
export function spoolDirCandidates(submissionUrl: string, places: SpoolPlaces = {}): string[] {
  const env = places.env ?? process.env;
  const platform = places.platform ?? process.platform;
  const homeOf = places.home ?? homedir;
  const home = ((): string | undefined => {
    try {
      const found = typeof homeOf === "string" ? homeOf : homeOf();
      return isAbsolute(found) ? found : undefined;
    } catch {
      return undefined;
    }
  })();
  const bases: string[] = [];
  if (platform === "win32") {
    if (env["LOCALAPPDATA"]) bases.push(env["LOCALAPPDATA"]);
    if (home) bases.push(join(home, "AppData", "Local"));
  } else if (platform === "darwin") {
    if (home) bases.push(join(home, "Library", "Caches"));
  } else {
    // The XDG spec ignores a relative XDG_CACHE_HOME.
    const xdg = env["XDG_CACHE_HOME"];
    if (xdg && isAbsolute(xdg)) bases.push(xdg);
    if (home) bases.push(join(home, ".cache"));
  }
  // The same hex node:crypto's SHA-256 gives, without loading node:crypto at initialize.
  const key = Buffer.from(sha256(Buffer.from(submissionUrl, "utf8"))).toString("hex").slice(0, 16);
  const out = bases.map((base) => join(base, "backtrace-ts", "spool", key));
  const tmp = (places.tmp ?? tmpdir)();
  if (tmp !== "" && isAbsolute(tmp)) {
    const uid = "uid" in places ? places.uid : process.getuid?.();
    const user = uid ?? (env["USERNAME"] || "user").replace(/[^A-Za-z0-9_.-]/g, "_");
    out.push(join(tmp, `backtrace-ts-${user}`, "spool", key));
  }
  return out;
}

/**
 * The default spool: the first candidate folder that passes every check, else a disabled spool (one
 * debug line each, and `enabled` false for the caller to count). Never throws.
 */
export function openDefaultSpool(submissionUrl: string, options: Omit<SpoolOptions, "dir">, places: SpoolPlaces = {}): Spool {
  const candidates = spoolDirCandidates(submissionUrl, places);
  let spool: Spool | undefined;
  for (const dir of candidates) {
    spool = createSpool({ ...options, dir });
    if (spool.enabled) return spool;
  }
  return spool ?? createSpool({ ...options, dir: "" });
}

/**
 * The client's spool: none with `spool: false`; a given folder is used or not at all; the default one falls back
 * (the cache folder, then the temp folder). One that cannot be used is returned disabled, and said in debug.
 */
export function openClientSpool(
  options: { spool: string | false | undefined; spoolMaxRecords: number; spoolMaxBytes: number; submissionUrl: string },
  debug: ((message: string) => void) | undefined,
): Spool | undefined {
  if (options.spool === false) return undefined;
  const spoolOptions = { maxRecords: options.spoolMaxRecords, maxBytes: options.spoolMaxBytes, ...(debug ? { debug } : {}) };
  const spool = options.spool !== undefined ? createSpool({ ...spoolOptions, dir: options.spool }) : openDefaultSpool(options.submissionUrl, spoolOptions);
  if (!spool.enabled) debug?.("no usable spool folder: the spool is off; reports that cannot be sent now are lost");
  return spool;
}
