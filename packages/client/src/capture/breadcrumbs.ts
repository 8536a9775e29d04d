// Breadcrumbs: the bounded ring of recent events (Backtrace's `bt-breadcrumbs-0` entries) kept by a client or a scope.

/** Backtrace's breadcrumb levels, as the server reads them. */
export type BreadcrumbLevel = "verbose" | "debug" | "info" | "warning" | "error";
/** Backtrace's breadcrumb types, as the server reads them. */
export type BreadcrumbType = "manual" | "log" | "navigation" | "http" | "system" | "user" | "configuration";

/** One entry of the `bt-breadcrumbs-0` attachment. `timestamp` is epoch milliseconds. */
export interface Breadcrumb {
  id: number;
  message: string;
  timestamp: number;
  type: BreadcrumbType;
  level: BreadcrumbLevel;
  attributes?: Record<string, unknown>;
}

/** What `addBreadcrumb` takes besides the message. */
export interface BreadcrumbOptions {
  level?: BreadcrumbLevel;
  type?: BreadcrumbType;
  attributes?: Record<string, unknown>;
}

export interface BreadcrumbLimits {
  maxEntries: number;
  maxMessageLength: number;
  maxAttributeDepth: number;
  /** One breadcrumb larger than this (as JSON) is not kept, and counted. */
  maxBreadcrumbBytes: number;
}

const LEVELS = new Set<string>(["verbose", "debug", "info", "warning", "error"]);
const TYPES = new Set<string>(["manual", "log", "navigation", "http", "system", "user", "configuration"]);

// One sequence for every store of the process, so that a client's and a scope's entries merge in order.
// It starts at the epoch second, as @backtrace/node's does: ids keep growing across restarts.
let nextId = Math.floor(Date.now() / 1000);

/** The message as text, cut to `max` characters (never through half of a surrogate pair). */
export function cutMessage(message: unknown, max: number): string {
  let text: string;
  try {
    text = typeof message === "string" ? message : String(message);
  } catch {
    text = "[unprintable]";
  }
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Attributes as plain data no deeper than `depth` levels; what cannot be read is left out. */
function limitAttributes(value: unknown, depth: number, max: number): unknown {
  switch (typeof value) {
    case "string":
      return cutMessage(value, max);
    case "number":
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "object": {
      if (value === null) return null;
      if (depth <= 0) return Array.isArray(value) ? "[Array]" : "[Object]";
      if (Array.isArray(value)) return value.slice(0, 100).map((item) => limitAttributes(item, depth - 1, max) ?? null);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).slice(0, 100)) {
        const item = limitAttributes((value as Record<string, unknown>)[key], depth - 1, max);
        if (item !== undefined) out[key] = item;
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** A ring of the most recent breadcrumbs; the oldest are overwritten and counted. Never throws. */
export class BreadcrumbStore {
  /** Entries overwritten by newer ones. */
  overwritten = 0;
  /** Entries not kept: larger than `maxBreadcrumbBytes`, or unreadable input. */
  rejected = 0;
  private readonly ring: Breadcrumb[] = [];
  private head = 0;

  constructor(private readonly limits: BreadcrumbLimits) {}

  add(message: unknown, options?: BreadcrumbOptions, type: BreadcrumbType = "manual"): void {
    try {
      const crumb: Breadcrumb = {
        id: ++nextId,
        message: cutMessage(message, this.limits.maxMessageLength),
        timestamp: Date.now(),
        type: options?.type !== undefined && TYPES.has(options.type) ? options.type : type,
        level: options?.level !== undefined && LEVELS.has(options.level) ? options.level : "info",
      };
      const attributes = options?.attributes;
      if (attributes !== undefined && attributes !== null && typeof attributes === "object") {
        crumb.attributes = limitAttributes(attributes, this.limits.maxAttributeDepth, this.limits.maxMessageLength * 4) as Record<string, unknown>;
        if (Buffer.byteLength(JSON.stringify(crumb)) > this.limits.maxBreadcrumbBytes) {
          this.rejected++;
          return;
        }
      }
      this.push(crumb);
    } catch {
      this.rejected++;
    }
  }

  /** A breadcrumb made by an automatic source, already bounded. */
  push(crumb: Breadcrumb): void {
    const max = this.limits.maxEntries;
    if (this.ring.length < max) {
      this.ring.push(crumb);
      return;
    }
    this.ring[this.head] = crumb;
    this.head = (this.head + 1) % max;
    this.overwritten++;
  }

  /** The entries, oldest first (a copy). */
  entries(): Breadcrumb[] {
    return this.head === 0 ? this.ring.slice() : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }

  get size(): number {
    return this.ring.length;
  }
}

/**
 * True when `crumb` still holds what `was` (a shallow copy made of it) held, its attributes the same object: entries
 * do not change once recorded, but code holding a report (a beforeSend) can change one, and what was made of it then
 * (its text) must be made again.
 */
export function unchangedBreadcrumb(was: Breadcrumb, crumb: Breadcrumb): boolean {
  return (
    was.id === crumb.id &&
    was.message === crumb.message &&
    was.timestamp === crumb.timestamp &&
    was.type === crumb.type &&
    was.level === crumb.level &&
    was.attributes === crumb.attributes
  );
}

/** A new id from the process-wide sequence, for breadcrumbs made by automatic sources. */
export function breadcrumbId(): number {
  return ++nextId;
}

/** The entries of several stores in id order, the newest `max` of them; `dropped` counts the rest. */
export function mergeBreadcrumbs(stores: readonly BreadcrumbStore[], max: number): { entries: Breadcrumb[]; dropped: number } {
  const nonEmpty = stores.filter((store) => store.size > 0);
  if (nonEmpty.length === 0) return { entries: [], dropped: 0 };
  const all = nonEmpty.length === 1 ? nonEmpty[0]!.entries() : nonEmpty.flatMap((store) => store.entries()).sort((a, b) => a.id - b.id);
  const dropped = Math.max(0, all.length - max);
  return { entries: dropped > 0 ? all.slice(dropped) : all, dropped };
}
