// What a report sends besides its body: the `bt-breadcrumbs-0` attachment (redacted, bounded) and the files and bytes attached, named once each.
import { basename } from "node:path";
import { unchangedBreadcrumb, type Breadcrumb } from "../capture/breadcrumbs.js";
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

/** A breadcrumb's redacted JSON text as UTF-8 bytes, and how many values redaction replaced in it. */
interface CrumbText {
  /** The entry's fields when its text was made. */
  of: Breadcrumb;
  /** A copy of what `attributes` held, for a report whose beforeSend may have changed them in place. */
  held: unknown;
  bytes: Buffer;
  redactions: number;
}

/**
 * Each breadcrumb's text, made once: a store's entries are never changed once recorded, and every report made while
 * one is in the ring sends it again (a storm sends the same hundred with each report). Made again when a field of the
 * entry no longer holds what it was made from (code with the report in hand, a beforeSend, changed it). After a
 * beforeSend, what the attributes hold is compared too: it may have taken a value out of them in place (an e-mail
 * an earlier report sent), and the text made then must not go with this report.
 */
const crumbTexts = new WeakMap<Breadcrumb, CrumbText>();

function crumbText(crumb: Breadcrumb, edited: boolean): CrumbText {
  const known = crumbTexts.get(crumb);
  if (known !== undefined && unchangedBreadcrumb(known.of, crumb) && (!edited || sameData(known.held, crumb.attributes, 0))) return known;
  const count = { values: 0 };
  const out: Breadcrumb = { ...crumb, message: redactString(crumb.message, count) };
  if (crumb.attributes !== undefined) out.attributes = redact(crumb.attributes, count) as Record<string, unknown>;
  const bytes = Buffer.from(JSON.stringify(out), "utf8");
  const made: CrumbText = { of: { ...crumb }, held: copyData(crumb.attributes, 0), bytes, redactions: count.values };
  crumbTexts.set(crumb, made);
  return made;
}

/** Deeper than any attributes an entry is recorded with: past it a value is not copied, nor found the same. */
const MAX_DEPTH = 64;

/** A copy of plain data (arrays, plain objects, primitives), as entries' attributes are recorded. */
function copyData(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => copyData(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyData((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** True when `value` holds what `held` (a copyData copy) does; anything but plain data is never the same. */
function sameData(held: unknown, value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null) return held === value;
  if (typeof held !== "object" || held === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    if (!Array.isArray(held) || held.length !== value.length) return false;
    for (let i = 0; i < value.length; i++) if (!sameData(held[i], value[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(held) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  if (keys.length !== Object.keys(held).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(held, key) || !sameData((held as Record<string, unknown>)[key], (value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** The last part made, with the entries and bound it was made from: the next report with the same ones takes it as it is. */
let lastPart: { texts: CrumbText[]; dropped: number; maxBytes: number; part: BreadcrumbPart; redactions: number } | undefined;

/**
 * The breadcrumbs as Backtrace's JSON array, secrets redacted like attributes, the oldest left out past `maxBytes`.
 * `edited`: a beforeSend had the report (and its entries) in hand.
 */
export function breadcrumbPart(
  crumbs: { entries: readonly Breadcrumb[]; dropped: number } | undefined,
  maxBytes: number,
  count: RedactionCount,
  edited = false,
): BreadcrumbPart {
  if (crumbs === undefined || crumbs.entries.length === 0) return { attachment: undefined, lastId: undefined, dropped: crumbs?.dropped ?? 0 };
  const { entries } = crumbs;
  const texts = entries.map((crumb) => crumbText(crumb, edited));
  const last = lastPart;
  if (last !== undefined && last.dropped === crumbs.dropped && last.maxBytes === maxBytes && last.texts.length === texts.length && last.texts.every((text, i) => text === texts[i])) {
    count.values += last.redactions;
    return last.part;
  }
  let redactions = 0;
  for (const text of texts) redactions += text.redactions;
  count.values += redactions;
  // "[" + entries joined by "," + "]": drop from the oldest until it fits.
  let bytes = 1;
  let first = texts.length;
  while (first > 0) {
    const next = texts[first - 1]!.bytes.length + 1;
    if (bytes + next > maxBytes) break;
    bytes += next;
    first--;
  }
  let part: BreadcrumbPart;
  if (first === texts.length) part = { attachment: undefined, lastId: undefined, dropped: crumbs.dropped + texts.length };
  else {
    // The bytes joined once, with no string made in between.
    const data = Buffer.allocUnsafeSlow(bytes);
    let at = 0;
    for (let i = first; i < texts.length; i++) {
      data[at++] = i === first ? 0x5b : 0x2c; // "[" or ","
      at += texts[i]!.bytes.copy(data, at);
    }
    data[at] = 0x5d; // "]"
    part = { attachment: { name: BREADCRUMBS_ATTACHMENT, data }, lastId: entries[entries.length - 1]!.id, dropped: crumbs.dropped + first };
  }
  lastPart = { texts, dropped: crumbs.dropped, maxBytes, part, redactions };
  return part;
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
