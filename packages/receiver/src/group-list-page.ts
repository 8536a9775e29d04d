// The viewer's front page: error groups (or messages) with search, filters, sort, sparklines and versions; updated live.
import { chartWindow, sparkline } from "./charts.js";
import { filterQuery, parseFilter, parseGroupView, parsePaging } from "./filters.js";
import { formatTime, href, html, layout, type SafeHtml } from "./html.js";
import { filterChips, pager, searchForm, type PageContext } from "./page-parts.js";
import type { GroupRow } from "./store.js";

const groupsPerPage = 100;
/** Versions listed in a row; the rest are counted. */
const versionsShown = 3;

function versionList(versions: string[]): SafeHtml | string {
  if (versions.length === 0) return "";
  const shown = versions.slice(0, versionsShown).map((v) => html`<span class="tag">${v}</span>`);
  const more = versions.length > versionsShown ? html`<span class="muted"> +${versions.length - versionsShown}</span>` : "";
  return html`${shown}${more}`;
}

export function groupsPage(query: URLSearchParams, context: PageContext): string {
  const { offset } = parsePaging(query, groupsPerPage, groupsPerPage);
  const filter = parseFilter(query);
  const { kind, sort } = parseGroupView(query);
  const { store } = context;
  const { groups, total, kinds } = store.listGroups({ kind, sort, filter, limit: groupsPerPage, offset });
  const now = context.now();
  const window = chartWindow(Math.min(now, ...groups.map((g) => g.firstSeen)), now);
  const ids = groups.map((g) => g.id);
  const timelines = store.timelines(ids, filter, window.from, window.width, window.buckets);
  const versions = store.versions(ids);
  const filterParams = filterQuery(filter);
  const view = (changes: Record<string, string>) => href("/", { ...filterParams, kind, sort, ...changes });
  const groupLink = (group: GroupRow) => href(`/groups/${encodeURIComponent(group.id)}`, filterParams);

  const rows = groups.map(
    (group) => html`<tr data-group="${group.id}">
<td class="spark-cell">${sparkline(timelines.get(group.id) ?? [], `${group.count} occurrences, ${window.label}`)}</td>
<td class="what"><a class="classifier" href="${groupLink(group)}">${group.classifier}</a>${group.message ? html` <span class="message">${group.message}</span>` : ""}
<div class="muted"><code>${group.topFrame}</code></div></td>
<td class="versions">${versionList(versions.get(group.id) ?? [])}</td>
<td class="num count">${group.count}</td>
<td class="when"><span class="label">first </span>${formatTime(group.firstSeen)}</td>
<td class="when"><span class="label">last </span>${formatTime(group.lastSeen)}</td>
</tr>`,
  );
  const tab = (name: "error" | "message", label: string) =>
    html`<a class="${name === kind ? "tab active" : "tab"}" href="${view({ kind: name, offset: "0" })}"${name === kind ? html` aria-current="page"` : ""}>${label} <span class="badge">${kinds[name]}</span></a>`;
  const sortLink = (name: "last" | "count", label: string) =>
    name === sort ? html`<strong>${label}</strong>` : html`<a href="${view({ sort: name })}">${label}</a>`;
  const empty =
    kinds.error + kinds.message === 0 && filter.attributes.length === 0 && filter.text === undefined
      ? html`<p class="muted">No reports yet. Point a Backtrace client at this address, for example <code>POST /post?format=json&amp;token=…</code>.</p>`
      : html`<p class="muted">No ${kind === "error" ? "error" : "message"} group matches.</p>`;
  const content = html`<h1>Error groups</h1>
${searchForm("/", filter, { kind, sort })}
${filterChips("/", filter, { kind, sort })}
<section id="live">
<nav class="tabs">${tab("error", "Errors")}${tab("message", "Messages")}<span class="sort muted">sort: ${sortLink("last", "last seen")} · ${sortLink("count", "count")}</span></nav>
${groups.length === 0
    ? empty
    : html`<table class="groups"><thead><tr><th>${window.label}</th><th>Group</th><th>Versions</th><th class="num">Count</th><th>First seen</th><th>Last seen</th></tr></thead>
<tbody>${rows}</tbody></table>`}
${pager("/", { ...filterParams, kind, sort }, offset, groupsPerPage, total, "← previous", "next →")}
</section>`;
  return layout({ title: "Error groups", anyToken: context.anyToken, content, live: true });
}
