// The viewer page of one report: the faulting stack (application frames first in sight), source lines, panels, annotations, raw JSON.
import { HttpError } from "./errors.js";
import { isLibraryPath } from "./frame-paths.js";
import { formatTime, html, layout, type SafeHtml } from "./html.js";
import type { PageContext } from "./page-parts.js";
import { attachmentList, attributePanels, breadcrumbPanel, logPanel, requestPanel, scalar, textValue } from "./report-panels.js";
import { renderExcerpt, sourceExcerpt } from "./source-view.js";
import { faultingThread, isRecord, type Frame } from "./summary.js";

/** Deeper annotation levels are shown as JSON text instead of nested trees. */
const maxTreeDepth = 24;

function isLibraryFrame(frame: Frame): boolean {
  return isLibraryPath(typeof frame.library === "string" ? frame.library : undefined);
}

function frameRow(frame: Frame, anchor: string, sourceCode: Record<string, unknown>): SafeHtml {
  const name = scalar(frame.funcName ?? frame.address ?? "?");
  const where = [frame.library, frame.line, frame.column].filter((part) => part !== undefined && part !== null).map(scalar).join(":");
  const id = typeof frame.sourceCode === "string" ? frame.sourceCode : undefined;
  const entry = id !== undefined && Object.hasOwn(sourceCode, id) ? sourceCode[id] : undefined;
  const lines = sourceExcerpt(entry, frame.line);
  let source: SafeHtml | string = "";
  if (lines) source = renderExcerpt(lines);
  else if (id !== undefined && entry === undefined) source = html`<div class="frame-head muted">source ${id} was not sent</div>`;
  const kind = isLibraryFrame(frame) ? "frame lib" : "frame app";
  return html`<li class="${kind}" id="${anchor}"><div class="frame-head"><a class="anchor" href="${`#${anchor}`}" title="link to this frame">#${anchor.replace(/^.*-/, "")}</a><span class="fn">${name}</span> <span class="muted">${where}</span></div>${source}</li>`;
}

/** Application frames stay open; each run of library and runtime frames folds into one <details>. */
function stackList(frames: Frame[], sourceCode: Record<string, unknown>, prefix: string, className = "stack"): SafeHtml {
  if (frames.length === 0) return html`<p class="muted">No frames.</p>`;
  const items: SafeHtml[] = [];
  let run: SafeHtml[] = [];
  const flush = () => {
    if (run.length > 0) items.push(html`<li class="lib-run"><details class="lib-frames"><summary>${run.length} library frame${run.length === 1 ? "" : "s"}</summary><ol class="stack">${run}</ol></details></li>`);
    run = [];
  };
  const allLibrary = frames.every(isLibraryFrame);
  frames.forEach((frame, index) => {
    const row = frameRow(frame, `${prefix}-${index}`, sourceCode);
    // With no application frame at all, folding everything would hide the whole stack.
    if (isLibraryFrame(frame) && !allLibrary) run.push(row);
    else {
      flush();
      items.push(row);
    }
  });
  flush();
  return html`<ol class="${className}">${items}</ol>`;
}

function otherThreads(body: Record<string, unknown>, shownId: string | undefined, sourceCode: Record<string, unknown>): SafeHtml[] {
  const threads = isRecord(body["threads"]) ? body["threads"] : {};
  return Object.entries(threads)
    .filter(([id, thread]) => id !== shownId && isRecord(thread))
    .map(([id, thread], index) => {
      const record = thread as Record<string, unknown>;
      const frames = Array.isArray(record["stack"]) ? (record["stack"].filter(isRecord) as Frame[]) : [];
      return html`<details><summary>Thread ${scalar(record["name"] ?? id)} <span class="muted">(${frames.length} frames)</span></summary>${stackList(frames, sourceCode, `thread${index + 1}-frame`)}</details>`;
    });
}

/** Annotations as nested <details>; the top level starts open. */
function tree(key: string, value: unknown, depth: number): SafeHtml {
  if (typeof value !== "object" || value === null) {
    return html`<div class="leaf"><span class="key">${key}</span>: ${textValue(value)}</div>`;
  }
  if (depth >= maxTreeDepth) return html`<div class="leaf"><span class="key">${key}</span>: <code>${JSON.stringify(value)}</code></div>`;
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
  const label = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return html`<details${depth === 0 ? html` open` : ""}><summary><span class="key">${key}</span> <span class="muted">${label}</span></summary>${entries.map(
    ([childKey, child]) => tree(childKey, child, depth + 1),
  )}</details>`;
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
  // The Log annotation has its own panel; showing it in the tree too would print it twice.
  const annotationKeys = Object.keys(annotations).filter((key) => !(key === "Log" && Array.isArray(annotations[key])));
  const rxid = encodeURIComponent(record.rxid);
  const content = html`<p><a href="${`/groups/${encodeURIComponent(record.groupId)}`}">← group</a></p>
<h1><span class="classifier">${record.classifier}</span>${record.message ? html`: <span class="message">${record.message}</span>` : ""}</h1>
<p class="muted">received ${formatTime(record.receivedAt)}${record.occurrences > 1 ? ` · stands for ${record.occurrences} occurrences` : ""} · uuid <code>${record.uuid}</code> · rxid <code>${record.rxid}</code> ·
${scalar(body["agent"])} ${scalar(body["agentVersion"])} · ${scalar(body["lang"])} ${scalar(body["langVersion"])} · <a href="${`/reports/${rxid}/raw.json`}" download>download JSON</a></p>
${record.flags.length > 0 ? html`<div class="flags">Accepted with deviations: ${record.flags.join("; ")}</div>` : ""}
<h2>Stack${thread ? html` <span class="muted">(thread ${thread.name})</span>` : ""}</h2>
${stackList(thread?.frames ?? [], sourceCode, "frame", "stack faulting")}
${otherThreads(body, thread?.id, sourceCode)}
${requestPanel(attributes)}
${breadcrumbPanel(attachments, (attachmentId) => context.store.getAttachment(attachmentId))}
${logPanel(annotations["Log"])}
${attributePanels(attributes)}
<h2>Annotations</h2>
${annotationKeys.length === 0 ? html`<p class="muted">No annotations.</p>` : html`<div class="tree">${annotationKeys.map((key) => tree(key, annotations[key], 0))}</div>`}
<h2>Attachments</h2>
${attachmentList(attachments)}
<h2>Raw JSON</h2>
<pre class="raw">${JSON.stringify(body, null, 2)}</pre>`;
  return layout({ title: `${record.classifier} ${record.message ?? ""}`, anyToken: context.anyToken, content });
}
