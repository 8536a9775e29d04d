// Panels of the report page read from attributes and attachments: application and system attributes, request, log, breadcrumbs, attachments.
import { attachmentType, isBreadcrumbsName } from "./content-types.js";
import { formatTime, html, type HtmlValue, type SafeHtml } from "./html.js";
import type { AttachmentData, AttachmentMeta } from "./store.js";
import { isRecord } from "./summary.js";

/** Attributes the clients add about the machine and runtime; the rest are the application's own and come first. */
const systemPrefixes = ["backtrace.", "vm.", "gc.", "process.", "system.", "cpu.", "uname.", "sched.", "descriptor.", "debug.", "breadcrumbs.", "mem.", "os.", "node.", "runtime.", "application.session"];
const systemNames = new Set(["guid", "pid", "hostname", "error.type", "error.message"]);
/** Breadcrumb files larger than this are listed as attachments but not drawn. */
const breadcrumbLimit = 2 * 1024 * 1024;

export function scalar(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
}

/** Text with its line breaks kept: stacks and Python tracebacks are unreadable on one line. */
export function textValue(value: unknown): SafeHtml | string {
  const text = scalar(value);
  return text.includes("\n") ? html`<code class="multiline">${text}</code>` : html`<code>${text}</code>`;
}

function isSystemAttribute(key: string): boolean {
  return systemNames.has(key) || systemPrefixes.some((prefix) => key.startsWith(prefix));
}

function table(className: string, keys: string[], attributes: Record<string, unknown>): SafeHtml {
  return html`<table class="${className}"><thead><tr><th>Attribute</th><th>Value</th></tr></thead><tbody>${keys.map((key) => {
    const value = attributes[key];
    return html`<tr><td><code>${key}</code></td><td>${value === null ? html`<em class="muted">null</em>` : textValue(value)}</td></tr>`;
  })}</tbody></table>`;
}

/** The application's attributes first, then the system's (collapsed when there are many); `request.*` go to their own panel. */
export function attributePanels(attributes: Record<string, unknown>): SafeHtml {
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return html`<h2>Attributes</h2><p class="muted">No attributes.</p>`;
  const app = keys.filter((key) => !isSystemAttribute(key) && !key.startsWith("request."));
  const system = keys.filter((key) => isSystemAttribute(key));
  const systemTable = table("attributes system", system, attributes);
  return html`<h2>Attributes</h2>
${app.length > 0 ? table("attributes app", app, attributes) : html`<p class="muted">No application attributes.</p>`}
${system.length === 0 ? "" : html`<details class="system"${system.length <= 12 ? html` open` : ""}><summary>System attributes <span class="muted">(${system.length})</span></summary>${systemTable}</details>`}`;
}

/** `request.method`, `request.url`, `request.route`, `request.headers.*` ... as one panel. */
export function requestPanel(attributes: Record<string, unknown>): SafeHtml | string {
  const keys = Object.keys(attributes).filter((key) => key.startsWith("request.")).sort();
  if (keys.length === 0) return "";
  const method = attributes["request.method"];
  const url = attributes["request.url"] ?? attributes["request.path"] ?? attributes["request.route"];
  const headline = method !== undefined || url !== undefined ? html`<p class="request-line"><code>${[method, url].filter((v) => v !== undefined).map(scalar).join(" ")}</code></p>` : "";
  return html`<h2>Request</h2><div class="request">${headline}${table("request-attributes", keys, attributes)}</div>`;
}

/** The `Log` annotation backtracepython sends ({ts, msg} entries), shown once as a list. */
export function logPanel(log: unknown): SafeHtml | string {
  if (!Array.isArray(log) || log.length === 0) return "";
  const items: HtmlValue[] = log.map((entry) => {
    if (isRecord(entry) && "msg" in entry) {
      const ts = typeof entry["ts"] === "number" ? formatTime(entry["ts"] < 1e12 ? entry["ts"] * 1000 : entry["ts"]) : scalar(entry["ts"] ?? "");
      return html`<li><span class="muted">${ts}</span> ${scalar(entry["msg"])}</li>`;
    }
    return html`<li>${scalar(entry)}</li>`;
  });
  return html`<h2>Log</h2><ul class="log">${items}</ul>`;
}

export interface Breadcrumb {
  id: unknown;
  message: unknown;
  timestamp: unknown;
  type: unknown;
  level: unknown;
  attributes?: unknown;
}

/** A breadcrumb file: a JSON array, or one JSON object per line as @backtrace/node 0.8 writes it. Lines that do not parse are skipped. */
export function parseBreadcrumbs(text: string): Breadcrumb[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    try {
      const value: unknown = JSON.parse(trimmed);
      return Array.isArray(value) ? (value.filter(isRecord) as unknown as Breadcrumb[]) : [];
    } catch {
      return [];
    }
  }
  const out: Breadcrumb[] = [];
  for (const line of trimmed.split("\n")) {
    try {
      const value: unknown = JSON.parse(line);
      if (isRecord(value)) out.push(value as unknown as Breadcrumb);
    } catch {
      // A file cut mid-write ends with a partial line.
    }
  }
  return out;
}

function breadcrumbTime(value: unknown): string {
  if (typeof value !== "number") return scalar(value ?? "");
  const ms = value < 1e12 ? value * 1000 : value;
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** Every `bt-breadcrumbs-*` attachment merged, ordered by id (then time), drawn as a timeline. */
export function breadcrumbPanel(attachments: AttachmentMeta[], read: (id: number) => AttachmentData | undefined): SafeHtml | string {
  const files = attachments.filter((a) => isBreadcrumbsName(a.name) && a.size <= breadcrumbLimit);
  if (files.length === 0) return "";
  const crumbs = files.flatMap((file) => parseBreadcrumbs(read(file.id)?.data.toString("utf8") ?? ""));
  const number = (value: unknown) => (typeof value === "number" ? value : 0);
  crumbs.sort((a, b) => number(a.id) - number(b.id) || number(a.timestamp) - number(b.timestamp));
  const items = crumbs.map((crumb) => {
    const level = typeof crumb.level === "string" ? crumb.level : "info";
    const attributes = isRecord(crumb.attributes) ? Object.entries(crumb.attributes) : [];
    return html`<li class="${`level-${level.replace(/[^a-z]/gi, "")}`}" data-id="${scalar(crumb.id ?? "")}"><span class="when">${breadcrumbTime(crumb.timestamp)}</span>
<span class="tag">${scalar(crumb.type ?? "")}</span><span class="tag">${level}</span> <span class="crumb-message">${scalar(crumb.message ?? "")}</span>${
      attributes.length > 0 ? html`<div class="muted">${attributes.map(([k, v]) => html`<code>${k}=${scalar(v)}</code> `)}</div>` : ""
    }</li>`;
  });
  return html`<h2>Breadcrumbs <span class="muted">(${crumbs.length})</span></h2>${crumbs.length === 0 ? html`<p class="muted">The breadcrumb file is empty.</p>` : html`<ol class="timeline">${items}</ol>`}`;
}

export function attachmentList(attachments: AttachmentMeta[]): SafeHtml {
  if (attachments.length === 0) return html`<p class="muted">No attachments.</p>`;
  return html`<ul class="attachments">${attachments.map(
    (a) => html`<li><a href="${`/attachments/${a.id}`}" download>${a.name}</a> <span class="muted"><span class="type">${attachmentType(a.name, a.contentType)}</span>, ${a.size} bytes</span></li>`,
  )}</ul>`;
}
