// Viewer pages for lists: the error groups, and the reports of one group with attribute and text filters.
import { HttpError } from "./errors.js";
import { filterQuery, parseFilter, parsePaging } from "./filters.js";
import { formatTime, href, html, layout, type SafeHtml } from "./html.js";
import type { ReportFilter, Store } from "./store.js";

export interface PageContext {
  store: Store;
  anyToken: boolean;
}

const groupsPerPage = 100;
const reportsPerPage = 50;

function pager(path: string, query: Record<string, string[] | string | undefined>, offset: number, limit: number, total: number): SafeHtml {
  const previous = offset > 0 ? html`<a href="${href(path, { ...query, offset: String(Math.max(0, offset - limit)) })}">← newer</a>` : "";
  const next = offset + limit < total ? html`<a href="${href(path, { ...query, offset: String(offset + limit) })}">older →</a>` : "";
  return html`<div class="pager">${previous}${next}<span class="muted">${total === 0 ? "" : `${offset + 1}–${Math.min(total, offset + limit)} of ${total}`}</span></div>`;
}

export function groupsPage(query: URLSearchParams, context: PageContext): string {
  const { offset } = parsePaging(query, groupsPerPage, groupsPerPage);
  const { groups, total } = context.store.listGroups(groupsPerPage, offset);
  const rows = groups.map(
    (group) => html`<tr>
<td><a href="${`/groups/${encodeURIComponent(group.id)}`}">${group.classifier}</a></td>
<td><code>${group.topFrame}</code></td>
<td class="num">${group.count}</td>
<td>${formatTime(group.firstSeen)}</td>
<td>${formatTime(group.lastSeen)}</td>
</tr>`,
  );
  const content =
    total === 0
      ? html`<h1>Error groups</h1><p class="muted">No reports yet. Point a Backtrace client at this address, for example
<code>POST /post?format=json&amp;token=…</code>.</p>`
      : html`<h1>Error groups</h1>
<table class="groups"><thead><tr><th>Classifier</th><th>Top frame</th><th>Reports</th><th>First seen</th><th>Last seen</th></tr></thead>
<tbody>${rows}</tbody></table>
${pager("/", {}, offset, groupsPerPage, total)}`;
  return layout({ title: "Error groups", anyToken: context.anyToken, content });
}

function filterLink(groupPath: string, filter: ReportFilter, key: string, value: string | null): SafeHtml | string {
  if (value === null) return "";
  const attributes = filter.attributes.some((a) => a.key === key && a.value === value) ? filter.attributes : [...filter.attributes, { key, value }];
  return html`<a class="filter" title="Show only these" href="${href(groupPath, filterQuery({ ...filter, attributes }))}">${value}</a>`;
}

export function groupPage(groupId: string, query: URLSearchParams, context: PageContext): string {
  const group = context.store.getGroup(groupId);
  if (!group) throw new HttpError(404, "no such group");
  const filter = { ...parseFilter(query), group: groupId };
  const { offset } = parsePaging(query, reportsPerPage, reportsPerPage);
  const { reports, total } = context.store.listReports(filter, reportsPerPage, offset);
  const path = `/groups/${encodeURIComponent(groupId)}`;
  const active = filter.attributes.map(
    (a) => html`<span class="chip">${a.key} = ${a.value}</span>`,
  );
  const rows = reports.map(
    (report) => html`<tr>
<td><a href="${`/reports/${encodeURIComponent(report.rxid)}`}">${formatTime(report.receivedAt)}</a></td>
<td>${filterLink(path, filter, "error.type", report.errorType)}</td>
<td>${report.message ?? ""}</td>
<td>${filterLink(path, filter, "application", report.application)}</td>
<td>${filterLink(path, filter, "hostname", report.hostname)}</td>
</tr>`,
  );
  const content = html`<p><a href="/">← all groups</a></p>
<h1>${group.classifier}</h1>
<p><code>${group.topFrame}</code> · <span class="muted">${group.count} report(s), first seen ${formatTime(group.firstSeen)}, last seen ${formatTime(group.lastSeen)}</span></p>
<form class="filters" method="get" action="${path}">
<input name="attr" placeholder="attribute filter, e.g. hostname:web-1" value="">
<input name="q" placeholder="text in the report" value="${filter.text ?? ""}">
${filter.attributes.map((a) => html`<input type="hidden" name="attr" value="${`${a.key}:${a.value}`}">`)}
<button type="submit">Filter</button>
${filter.attributes.length > 0 || filter.text ? html`<a href="${path}">clear</a>` : ""}
</form>
${active.length > 0 ? html`<p>Filters: ${active}</p>` : ""}
<table class="reports"><thead><tr><th>Received</th><th>error.type</th><th>Message</th><th>application</th><th>hostname</th></tr></thead>
<tbody>${rows}</tbody></table>
${total === 0 ? html`<p class="muted">No report matches.</p>` : ""}
${pager(path, filterQuery(filter), offset, reportsPerPage, total)}`;
  return layout({ title: group.classifier, anyToken: context.anyToken, content });
}
