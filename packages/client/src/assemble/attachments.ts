// What a report sends besides its body: the `bt-breadcrumbs-0` attachment (redacted, bounded) and the files and bytes attached, named once each.
import { basename } from "node:path";
import type { Breadcrumb } from "../capture/breadcrumbs.js";
import type { BacktraceReport } from "../capture/report.js";
import type { AttachmentRef } from "../payload.js";
import { redact, redactString, type RedactionCount } from "./redact.js";

/** The attachment name @backtrace/node sends its in-memory breadcrumbs under, which Backtrace's viewer reads. */
export const BREADCRUMBS_ATTACHMENT = "bt-breadcrumbs-0";
/** The attribute naming the newest breadcrumb id of a report. */
export const LAST_ID_ATTRIBUTE = "breadcrumbs.lastId";

export interface BreadcrumbPart {
  attachment: AttachmentRef | undefined;
  lastId: number | undefined;
  /** Entries left out: overwritten in the ring before the report was made, or the oldest past `maxBytes`. */
  dropped: number;
}

/** The breadcrumbs as Backtrace's JSON array, secrets redacted like attributes, the oldest left out past `maxBytes`. */
export function breadcrumbPart(crumbs: { entries: readonly Breadcrumb[]; dropped: number } | undefined, maxBytes: number, count: RedactionCount): BreadcrumbPart {
  if (crumbs === undefined || crumbs.entries.length === 0) return { attachment: undefined, lastId: undefined, dropped: crumbs?.dropped ?? 0 };
  const texts = crumbs.entries.map((crumb) => {
    const out: Breadcrumb = { ...crumb, message: redactString(crumb.message, count) };
    if (crumb.attributes !== undefined) out.attributes = redact(crumb.attributes, count) as Record<string, unknown>;
    return JSON.stringify(out);
  });
  // "[" + entries joined by "," + "]": drop from the oldest until it fits.
  let bytes = 1;
  let first = texts.length;
  while (first > 0) {
    const next = Buffer.byteLength(texts[first - 1]!) + 1;
    if (bytes + next > maxBytes) break;
    bytes += next;
    first--;
  }
  const kept = texts.slice(first);
  if (kept.length === 0) return { attachment: undefined, lastId: undefined, dropped: crumbs.dropped + texts.length };
  return {
    attachment: { name: BREADCRUMBS_ATTACHMENT, data: Buffer.from(`[${kept.join(",")}]`, "utf8") },
    lastId: crumbs.entries[crumbs.entries.length - 1]!.id,
    dropped: crumbs.dropped + first,
  };
}

/**
 * Every attachment of a report, one per file name: the breadcrumbs first, then the report's own (so they
 * win over the client's of the same name), then the client's. In-memory data past `maxDataBytes` in all
 * is left out, the later ones first, and counted in `cut`.
 */
export function attachmentsOf(
  report: BacktraceReport,
  breadcrumbs: AttachmentRef | undefined,
  clientPaths: readonly string[],
  maxDataBytes: number,
): { attachments: AttachmentRef[]; cut: number; cutBytes: number } {
  const seen = new Set<string>();
  const attachments: AttachmentRef[] = [];
  let dataBytes = 0;
  let cut = 0;
  let cutBytes = 0;
  // A method, not an arrow under a name: the build names a closure bound to a name when it is made (once per report).
  const to = { add(ref: AttachmentRef): void {
    const name = basename(ref.name);
    if (seen.has(name)) return;
    if (ref.data !== undefined && ref !== breadcrumbs) {
      if (dataBytes + ref.data.length > maxDataBytes) {
        cut++;
        cutBytes += ref.data.length;
        return;
      }
      dataBytes += ref.data.length;
    }
    seen.add(name);
    attachments.push(ref.data === undefined ? { name, path: ref.path } : { name, data: ref.data });
  } };
  if (breadcrumbs) to.add(breadcrumbs);
  for (const data of report.dataAttachments) to.add(data);
  for (const path of report.getAttachments()) to.add({ name: path, path });
  for (const ref of report.context?.attachments ?? []) to.add(ref);
  for (const path of clientPaths) to.add({ name: path, path });
  return { attachments, cut, cutBytes };
}
