// Default attributes: the static ones read once per process, the dynamic ones read for each report.
import { randomUuid, uuidFromHex } from "../builtins.js";
import { sha256 } from "../spool/sha256.js";
import { readFileSync } from "node:fs";
import { availableParallelism as osAvailableParallelism, cpus as osCpus, hostname as osHostname, machine as osMachine, release as osRelease, version as osVersion } from "node:os";
import { dirname, join, basename, extname } from "node:path";
import type { Attributes } from "../body.js";
import { AGENT, VERSION } from "../version.js";

/** Reads a text file or returns undefined; passed in so tests can point at fixtures. */
export type ReadText = (path: string) => string | undefined;

export const readText: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

const sysnames: Record<string, string> = { linux: "Linux", darwin: "Mac OS", win32: "Windows" };

/** True when Node runs code given on its command line (-e, -p and their long forms): then there is no script. */
export function evaluatesCode(execArgv: readonly string[]): boolean {
  return execArgv.some((flag) => /^(?:-[ep]|-pe|-ep|--eval|--print)(?:=|$)/.test(flag));
}

/** Name and version of the application, from the nearest package.json above the entry script, then the working folder. */
export function applicationInfo(
  entry: string | undefined,
  cwd: string,
  read: ReadText = readText,
): { name: string; version: string } {
  const starts = entry ? [dirname(entry), cwd] : [cwd];
  for (const start of starts) {
    let dir = start;
    for (let depth = 0; depth < 20; depth++) {
      const text = dir.includes("node_modules") ? undefined : read(join(dir, "package.json"));
      if (text !== undefined) {
        try {
          const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
          if (typeof pkg.name === "string" && pkg.name !== "") {
            return { name: pkg.name, version: typeof pkg.version === "string" ? pkg.version : "unknown" };
          }
        } catch {
          // A broken package.json says nothing about the application; keep looking.
        }
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  const name = entry ? basename(entry, extname(entry)) : "node";
  return { name: name || "node", version: "unknown" };
}

/**
 * A stable id of the machine, derived from the OS machine id when a file holds one (Linux), hashed so
 * the raw id (which the OS asks to keep confidential) never leaves the machine. Falls back to a random
 * id per process. Never throws and never runs a command.
 */
export function machineGuid(read: ReadText = readText, platform: string = process.platform): string {
  const files = platform === "linux" || platform === "android"
    ? ["/etc/machine-id", "/var/lib/dbus/machine-id"]
    : platform === "freebsd" ? ["/etc/hostid"] : [];
  for (const file of files) {
    const id = read(file)?.trim();
    if (id) {
      return uuidFromHex(Buffer.from(sha256(Buffer.from(`backtrace-ts:${id}`, "utf8"))).toString("hex"));
    }
  }
  return randomUuid();
}

let processStatic: Attributes | undefined;

/** staticAttributes of this process, computed once (its `application.session` is the same in every report and record). */
export function processStaticAttributes(): Attributes {
  return (processStatic ??= staticAttributes());
}

/** Attributes that do not change while the process runs. Computed once, lazily, off the caller's path. */
export function staticAttributes(read: ReadText = readText): Attributes {
  // With -e or -p there is no script: process.argv[1] is then the application's first argument.
  const app = applicationInfo(evaluatesCode(process.execArgv) ? undefined : process.argv[1], process.cwd(), read);
  const cpus = safe(() => osCpus(), []);
  return {
    "backtrace.agent": AGENT,
    "backtrace.version": VERSION,
    application: app.name,
    "application.version": app.version,
    "application.session": randomUuid(),
    hostname: safe(() => osHostname(), "unknown"),
    "uname.sysname": sysnames[process.platform] ?? process.platform,
    "uname.release": safe(() => osRelease(), "unknown"),
    "uname.version": safe(() => osVersion(), "unknown"),
    "uname.machine": safe(() => osMachine(), process.arch),
    "cpu.arch": process.arch,
    "cpu.brand": cpus[0]?.model.trim() || "unknown",
    "cpu.count": cpus.length || safe(() => osAvailableParallelism(), 1),
    "process.id": process.pid,
    guid: machineGuid(read),
  };
}

const meminfoNames: Record<string, string> = {
  MemTotal: "system.memory.total",
  MemFree: "system.memory.free",
  MemAvailable: "system.memory.available",
  Buffers: "system.memory.buffers",
  Cached: "system.memory.cached",
  SwapCached: "system.memory.swap.cached",
  Active: "system.memory.active",
  Inactive: "system.memory.inactive",
  SwapTotal: "system.memory.swap.total",
  SwapFree: "system.memory.swap.free",
  Dirty: "system.memory.dirty",
  Writeback: "system.memory.writeback",
  Slab: "system.memory.slab",
  VmallocTotal: "system.memory.vmalloc.total",
  VmallocUsed: "system.memory.vmalloc.used",
  VmallocChunk: "system.memory.vmalloc.chunk",
};

const statusNames: Record<string, string> = {
  VmPeak: "vm.vma.peak",
  VmSize: "vm.vma.size",
  VmLck: "vm.locked.size",
  VmHWM: "vm.rss.peak",
  VmRSS: "vm.rss.size",
  VmData: "vm.data.size",
  VmStk: "vm.stack.size",
  VmLib: "vm.shared.size",
  VmPTE: "vm.pte.size",
  VmSwap: "vm.swap.size",
  Threads: "process.thread.count",
  voluntary_ctxt_switches: "sched.cs.voluntary",
  nonvoluntary_ctxt_switches: "sched.cs.involuntary",
};

/** The attributes read from /proc/self/status: the state of the process that builds a report. */
export const PROCESS_STATUS_ATTRIBUTES: readonly string[] = Object.values(statusNames);

/** Parses `Key: value [kB]` lines (as in /proc/meminfo and /proc/self/status) into named attributes; kB become bytes. */
export function parseProcFile(text: string, names: Record<string, string>): Attributes {
  const out: Attributes = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_()]+):\s+(\d+)(\s*kB)?\s*$/.exec(line);
    const name = match && names[match[1] ?? ""];
    if (!match || !name) continue;
    const value = Number(match[2]);
    out[name] = match[3] ? value * 1024 : value;
  }
  return out;
}

/** Attributes read for each report: process age, and on Linux memory of the system and the process. */
export function dynamicAttributes(read: ReadText = readText, platform: string = process.platform): Attributes {
  const out: Attributes = { "process.age": Math.floor(process.uptime()) };
  if (platform !== "linux") return out;
  const meminfo = read("/proc/meminfo");
  if (meminfo) Object.assign(out, parseProcFile(meminfo, meminfoNames));
  const status = read("/proc/self/status");
  if (status) Object.assign(out, parseProcFile(status, statusNames));
  return out;
}

/**
 * dynamicAttributes, read at most once per `ttlMs`: memory figures a second old describe a burst of
 * reports as well as fresh ones, and reading /proc for each of thousands of reports costs real time.
 * `process.age` is always current.
 */
export function cachedDynamicAttributes(ttlMs = 1000, read: ReadText = readText, now: () => number = Date.now): () => Attributes {
  let cached: Attributes | undefined;
  let readAt = 0;
  // The same object until the readings or the age change, so that callers can keep work done on it.
  let given: Attributes | undefined;
  return () => {
    const at = now();
    if (cached === undefined || at - readAt >= ttlMs) {
      cached = dynamicAttributes(read);
      readAt = at;
      given = undefined;
    }
    const age = Math.floor(process.uptime());
    if (given === undefined || given["process.age"] !== age) given = Object.freeze({ ...cached, "process.age": age });
    return given;
  };
}

function safe<T>(get: () => T, fallback: T): T {
  try {
    return get();
  } catch {
    return fallback;
  }
}
