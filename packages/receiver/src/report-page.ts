// The viewer page of one report: faulting stack with source, attributes, annotations tree, log, attachments, raw JSON.
import { HttpError } from "./errors.js";
import { formatTime, html, layout, type HtmlValue, type SafeHtml } from "./html.js";
import type { PageContext } from "./pages.js";
import { renderExcerpt, sourceExcerpt } from "./source-view.js";
import type { AttachmentMeta } from "./store.js";
import { faultingThread, isRecord, type Frame } from "./summary.js";

/** Deeper annotation levels are shown as JSON text instead of nested trees. */
const maxTreeDepth = 24;

function scalar(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
}

function frameRow(frame: Frame, sourceCode: Record<string, unknown>): SafeHtml {
  const name = scalar(frame.funcName ?? frame.address ?? "?");
  const where = [frame.library, frame.line, frame.column].filter((part) => part !== undefined && part !== null).map(scalar).join(":");
  const id = typeof frame.sourceCode === "string" ? frame.sourceCode : undefined;
  const entry = id !== undefined && Object.hasOwn(sourceCode, id) ? sourceCode[id] : undefined;
  const lines = sourceExcerpt(entry, frame.line);
  let source: SafeHtml | string = "";
  if (lines) source = renderExcerpt(lines);
  else if (id !== undefined && entry === undefined) source = html`<div class="frame-head muted">source ${id} was not sent</div>`;
  return html`<li><div class="frame-head"><span class="fn">${name}</span> <span class="muted">${where}</span></div>${source}</li>`;
}

function stackList(frames: Frame[], sourceCode: Record<string, unknown>, className = "stack"): SafeHtml {
  if (frames.length === 0) return html`<p class="muted">No frames.</p>`;
  return html`<ol class="${className}">${frames.map((frame) => frameRow(frame, sourceCode))}</ol>`;
}

function otherThreads(body: Record<string, unknown>, shownId: string | undefined, sourceCode: Record<string, unknown>): SafeHtml[] {
  const threads = isRecord(body["threads"]) ? body["threads"] : {};
  return Object.entries(threads)
    .filter(([id, thread]) => id !== shownId && isRecord(thread))
    .map(([id, thread]) => {
      const record = thread as Record<string, unknown>;
      const frames = Array.isArray(record["stack"]) ? (record["stack"].filter(isRecord) as Frame[]) : [];
      return html`<details><summary>Thread ${scalar(record["name"] ?? id)} <span class="muted">(${frames.length} frames)</span></summary>${stackList(frames, sourceCode)}</details>`;
    });
}

function attributesTable(attributes: Record<string, unknown>): SafeHtml {
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return html`<p class="muted">No attributes.</p>`;
  return html`<table class="attributes"><thead><tr><th>Attribute</th><th>Value</th></tr></thead><tbody>${keys.map((key) => {
    const value = attributes[key];
    return html`<tr><td><code>${key}</code></td><td>${value === null ? html`<em class="muted">null</em>` : scalar(value)}</td></tr>`;
  })}</tbody></table>`;
}

/** Annotations as nested <details>; the top level starts open. */
function tree(key: string, value: unknown, depth: number): SafeHtml {
  if (typeof value !== "object" || value === null) {
    return html`<div class="leaf"><span class="key">${key}</span>: <code>${scalar(value)}</code></div>`;
  }
  if (depth >= maxTreeDepth) return html`<div class="leaf"><span class="key">${key}</span>: <code>${JSON.stringify(value)}</code></div>`;
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  const label = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return html`<details${depth === 0 ? html` open` : ""}><summary><span class="key">${key}</span> <span class="muted">${label}</span></summary>${entries.map(
    ([childKey, child]) => tree(childKey, child, depth + 1),
  )}</details>`;
}

function logList(log: unknown): SafeHtml | string {
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

function attachmentList(attachments: AttachmentMeta[]): SafeHtml {
  if (attachments.length === 0) return html`<p class="muted">No attachments.</p>`;
  return html`<ul class="attachments">${attachments.map(
    (a) => html`<li><a href="${`/attachments/${a.id}`}" download>${a.name}</a> <span class="muted">${a.contentType}, ${a.size} bytes</span></li>`,
  )}</ul>`;
}

export function reportPage(id: string, context: PageContext): string {
  const record = context.store.getReport(id);
  if (!record) throw new HttpError(404, "no such report");
  const body = JSON.parse(record.body) as Record<string, unknown>;
  const attributes = isRecord(body["attributes"]) ? body["attributes"] : {};
  const annotations = isRecord(body["annotations"]) ? body["annotations"] : {};
  const sourceCode = isRecord(body["sourceCode"]) ? body["sourceCode"] : {};
  const thread = faultingThread(body);
  const attachments = context.store.listAttachments(record.rxid);
  const annotationKeys = Object.keys(annotations);
  const content = html`<p><a href="${`/groups/${encodeURIComponent(record.groupId)}`}">← group</a></p>
<h1>${record.classifier}${record.message ? html`: <span class="message">${record.message}</span>` : ""}</h1>
<p class="muted">received ${formatTime(record.receivedAt)} · uuid <code>${record.uuid}</code> · rxid <code>${record.rxid}</code> ·
${scalar(body["agent"])} ${scalar(body["agentVersion"])} · ${scalar(body["lang"])} ${scalar(body["langVersion"])}</p>
${record.flags.length > 0 ? html`<div class="flags">Accepted with deviations: ${record.flags.join("; ")}</div>` : ""}
<h2>Stack${thread ? html` <span class="muted">(thread ${thread.name})</span>` : ""}</h2>
${stackList(thread?.frames ?? [], sourceCode, "stack faulting")}
${otherThreads(body, thread?.id, sourceCode)}
<h2>Attributes</h2>
${attributesTable(attributes)}
<h2>Annotations</h2>
${annotationKeys.length === 0 ? html`<p class="muted">No annotations.</p>` : html`<div class="tree">${annotationKeys.map((key) => tree(key, annotations[key], 0))}</div>`}
${logList(annotations["Log"])}
<h2>Attachments</h2>
${attachmentList(attachments)}
<h2>Raw JSON</h2>
<pre class="raw">${JSON.stringify(body, null, 2)}</pre>`;
  return layout({ title: `${record.classifier} ${record.message ?? ""}`, anyToken: context.anyToken, content });
}
