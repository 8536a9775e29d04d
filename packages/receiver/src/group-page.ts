// The viewer page of one group: occurrence chart, facets of the main attributes, and its reports, with filters; updated live.
import { chartWindow, occurrenceChart } from "./charts.js";
import { HttpError } from "./errors.js";
import { filterQuery, parseFilter, parsePaging } from "./filters.js";
import { formatTime, href, html, layout, type SafeHtml } from "./html.js";
import { filterChips, pager, searchForm, withAttribute, type PageContext } from "./page-parts.js";
import type { FacetKey, Facets, ReportFilter } from "./store.js";

const reportsPerPage = 50;
/** Facets are counted over the latest reports only, so a group of millions still answers quickly. */
const facetSample = 10_000;
const facetTitles: Record<FacetKey, string> = { hostname: "hostname", "application.version": "version", environment: "environment", route: "route" };

function facetPanel(path: string, filter: ReportFilter, facets: Facets): SafeHtml {
  const panels = (Object.keys(facetTitles) as FacetKey[]).map((key) => {
    const values = facets[key];
    const total = values.reduce((sum, v) => sum + v.count, 0);
    const items =
      values.length === 0
        ? html`<li class="muted">not sent</li>`
        : values.map((v) => {
            const share = total === 0 ? 0 : Math.round((v.count / total) * 100);
            return html`<li><a href="${href(path, filterQuery(withAttribute(filter, key, v.value)))}" title="${`only ${key}:${v.value}`}"><span class="bar" style="${`width:${share}%`}"></span><span class="value">${v.value}</span><span class="share">${share}%</span></a></li>`;
          });
    return html`<div class="facet" data-facet="${key}"><h3>${facetTitles[key]}</h3><ul>${items}</ul></div>`;
  });
  return html`<div class="facets">${panels}</div>`;
}

function filterLink(path: string, filter: ReportFilter, key: string, value: string | null): SafeHtml | string {
  if (value === null) return "";
  return html`<a class="filter" title="Show only these" href="${href(path, filterQuery(withAttribute(filter, key, value)))}">${value}</a>`;
}

export function groupPage(groupId: string, query: URLSearchParams, context: PageContext): string {
  const { store } = context;
  const group = store.getGroup(groupId);
  if (!group) throw new HttpError(404, "no such group");
  const filter = { ...parseFilter(query), group: groupId };
  const { offset } = parsePaging(query, reportsPerPage, reportsPerPage);
  const { reports, total } = store.listReports(filter, reportsPerPage, offset);
  const path = `/groups/${encodeURIComponent(groupId)}`;
  const now = context.now();
  const window = chartWindow(group.firstSeen, now);
  const counts = store.timelines([groupId], filter, window.from, window.width, window.buckets).get(groupId) ?? [];
  const facets = store.facets(groupId, filter, facetSample);
  const versions = store.versions([groupId]).get(groupId) ?? [];
  const rows = reports.map(
    (report) => html`<tr>
<td><a href="${`/reports/${encodeURIComponent(report.rxid)}`}">${formatTime(report.receivedAt)}</a>${report.occurrences > 1 ? html` <span class="tag" title="occurrences this report stands for">×${report.occurrences}</span>` : ""}</td>
<td>${filterLink(path, filter, "error.type", report.errorType)}</td>
<td class="message">${report.message ?? ""}</td>
<td>${filterLink(path, filter, "application.version", report.version)}</td>
<td>${filterLink(path, filter, "hostname", report.hostname)}</td>
</tr>`,
  );
  const content = html`<p><a href="/">← all groups</a></p>
<h1><span class="classifier">${group.classifier}</span>${group.message ? html` <span class="message">${group.message}</span>` : ""}</h1>
<p><code>${group.topFrame}</code></p>
<p class="muted">${group.count} occurrence(s) · first seen ${formatTime(group.firstSeen)} · last seen ${formatTime(group.lastSeen)}${versions.length > 0 ? ` · versions ${versions.join(", ")}` : ""}</p>
${searchForm(path, filter, {})}
${filterChips(path, filter, {})}
<section id="live">
${occurrenceChart(counts, window)}
${facetPanel(path, filter, facets)}
<h2>Reports <span class="muted">(${total})</span></h2>
${total === 0
    ? html`<p class="muted">No report matches.</p>`
    : html`<table class="reports"><thead><tr><th>Received</th><th>error.type</th><th>Message</th><th>version</th><th>hostname</th></tr></thead>
<tbody>${rows}</tbody></table>`}
${pager(path, filterQuery(filter), offset, reportsPerPage, total)}
</section>`;
  return layout({ title: group.classifier, anyToken: context.anyToken, content, live: true });
}
