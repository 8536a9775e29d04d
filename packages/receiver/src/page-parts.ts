// Pieces the viewer pages share: the page context, the pager, the search form and the removable filter chips.
import { filterQuery } from "./filters.js";
import { href, html, type SafeHtml } from "./html.js";
import type { ReportFilter, Store } from "./store.js";

export interface PageContext {
  store: Store;
  anyToken: boolean;
  /** The clock, so tests and charts agree on "now". */
  now: () => number;
}

type Query = Record<string, string[] | string | undefined>;

export function pager(path: string, query: Query, offset: number, limit: number, total: number, newer = "← newer", older = "older →"): SafeHtml {
  const previous = offset > 0 ? html`<a href="${href(path, { ...query, offset: String(Math.max(0, offset - limit)) })}">${newer}</a>` : "";
  const next = offset + limit < total ? html`<a href="${href(path, { ...query, offset: String(offset + limit) })}">${older}</a>` : "";
  return html`<div class="pager">${previous}${next}<span class="muted">${total === 0 ? "" : `${offset + 1}–${Math.min(total, offset + limit)} of ${total}`}</span></div>`;
}

/** The filter with one more attribute test, unless it is already there. */
export function withAttribute(filter: ReportFilter, key: string, value: string): ReportFilter {
  if (filter.attributes.some((a) => a.key === key && a.value === value)) return filter;
  return { ...filter, attributes: [...filter.attributes, { key, value }] };
}

/** A search box, a box to add a `key:value` filter, and the current filters carried along as hidden fields. */
export function searchForm(path: string, filter: ReportFilter, keep: Query): SafeHtml {
  const hidden = Object.entries(keep).flatMap(([name, value]) =>
    (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => html`<input type="hidden" name="${name}" value="${v}">`),
  );
  return html`<form class="filters" method="get" action="${path}" role="search">
<input name="q" type="search" placeholder="search messages and attributes" aria-label="search messages and attributes" value="${filter.text ?? ""}">
${filter.attributes.map((a) => html`<input type="hidden" name="attr" value="${`${a.key}:${a.value}`}">`)}${hidden}
<input name="attr" placeholder="add a filter, e.g. hostname:web-1" aria-label="add an attribute filter (key:value)" value="">
<button type="submit">Search</button>
</form>`;
}

/** One chip per active filter, each with a link that removes only it. */
export function filterChips(path: string, filter: ReportFilter, keep: Query): SafeHtml | string {
  if (filter.attributes.length === 0 && filter.text === undefined) return "";
  const chips = filter.attributes.map((a, index) => {
    const rest = { ...filter, attributes: filter.attributes.filter((_, i) => i !== index) };
    return html`<span class="chip"><code>${a.key}:${a.value}</code><a class="remove" href="${href(path, { ...keep, ...filterQuery(rest) })}" aria-label="${`remove filter ${a.key}:${a.value}`}">×</a></span>`;
  });
  const text =
    filter.text === undefined
      ? ""
      : html`<span class="chip">“${filter.text}”<a class="remove" href="${href(path, { ...keep, ...filterQuery({ ...filter, text: undefined }) })}" aria-label="remove the search">×</a></span>`;
  return html`<p class="chips">${text}${chips} <a href="${href(path, keep)}">clear all</a></p>`;
}
