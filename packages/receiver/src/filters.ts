// Reads report filters and paging from query parameters (shared by the viewer and the JSON API).
import { HttpError } from "./errors.js";
import type { GroupSort, ReportFilter } from "./store.js";
import type { ReportKind } from "./summary.js";

export interface Paging {
  limit: number;
  offset: number;
}

/** `attr=key:value` (repeatable, all must match), `q=` free text, `group=` group id. */
export function parseFilter(query: URLSearchParams): ReportFilter {
  const attributes = query.getAll("attr").filter((item) => item !== "").map((item) => {
    const colon = item.indexOf(":");
    if (colon <= 0) throw new HttpError(400, `attr must look like key:value, got "${item}"`);
    return { key: item.slice(0, colon), value: item.slice(colon + 1) };
  });
  const text = query.get("q")?.trim() || undefined;
  const group = query.get("group") || undefined;
  return { attributes, text, group };
}

function wholeNumber(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const value = query.get(name);
  if (value === null || value === "") return fallback;
  if (!/^\d+$/.test(value)) throw new HttpError(400, `${name} must be a whole number, got "${value}"`);
  return Math.min(Number(value), max);
}

/** `limit` (default `defaultLimit`, at most `maxLimit`) and `offset`. */
export function parsePaging(query: URLSearchParams, defaultLimit: number, maxLimit: number): Paging {
  const limit = Math.max(1, wholeNumber(query, "limit", defaultLimit, maxLimit));
  return { limit, offset: wholeNumber(query, "offset", 0, Number.MAX_SAFE_INTEGER) };
}

/** The query of `filter` as it appears in links, so pages and pagers keep it. */
export function filterQuery(filter: ReportFilter): Record<string, string[] | string | undefined> {
  return { attr: filter.attributes.map(({ key, value }) => `${key}:${value}`), q: filter.text };
}

/** `kind=error|message` (default error) and `sort=last|count` (default last) of a group list. */
export function parseGroupView(query: URLSearchParams): { kind: ReportKind; sort: GroupSort } {
  const kind = query.get("kind") || "error";
  const sort = query.get("sort") || "last";
  if (kind !== "error" && kind !== "message") throw new HttpError(400, `kind must be error or message, got "${kind}"`);
  if (sort !== "last" && sort !== "count") throw new HttpError(400, `sort must be last or count, got "${sort}"`);
  return { kind, sort };
}
