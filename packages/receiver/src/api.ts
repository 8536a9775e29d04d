// The JSON API (groups, reports, one report) and attachment downloads, as plain data for the server to send.
import { attachmentType, passThroughTypes } from "./content-types.js";
import { HttpError } from "./errors.js";
import { parseFilter, parseGroupView, parsePaging } from "./filters.js";
import type { Store } from "./store.js";

const defaultLimit = 50;
const maxLimit = 500;

export function listGroups(query: URLSearchParams, store: Store): Record<string, unknown> {
  const { limit, offset } = parsePaging(query, defaultLimit, maxLimit);
  const filter = parseFilter(query);
  const { kind, sort } = parseGroupView(query);
  const { groups, total, kinds } = store.listGroups({ kind, sort, filter, limit, offset });
  const versions = store.versions(groups.map((g) => g.id));
  return { groups: groups.map((g) => ({ ...g, versions: versions.get(g.id) ?? [] })), total, kinds, limit, offset };
}

export function listReports(query: URLSearchParams, store: Store): Record<string, unknown> {
  const filter = parseFilter(query);
  const { limit, offset } = parsePaging(query, defaultLimit, maxLimit);
  const { reports, total } = store.listReports(filter, limit, offset);
  return { reports, total, limit, offset };
}

export function getReport(id: string, store: Store): Record<string, unknown> {
  const record = store.getReport(id);
  if (!record) throw new HttpError(404, `no stored report has the rxid or uuid "${id}"`);
  const { body, id: _rowId, ...columns } = record;
  const attachments = store.listAttachments(record.rxid).map((a) => ({ ...a, shownType: attachmentType(a.name, a.contentType), url: `/attachments/${a.id}` }));
  return { report: { ...columns, body: JSON.parse(body) as unknown }, attachments };
}


/** The stored body as a download, named after the report's uuid. */
export function rawBody(id: string, store: Store): Download {
  const record = store.getReport(id);
  if (!record) throw new HttpError(404, `no stored report has the rxid or uuid "${id}"`);
  const data = Buffer.from(record.body, "utf8");
  return {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": dispositionFor(`report-${record.uuid}.json`),
      "x-content-type-options": "nosniff",
      "content-length": String(data.length),
    },
    data,
  };
}

/** `filename` and `filename*` parameters that cannot break out of the header. */
function dispositionFor(name: string): string {
  const plain = name.replace(/[^\x20-\x7e]|["\\]/g, "_").replace(/[/]/g, "_") || "attachment";
  return `attachment; filename="${plain}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export interface Download {
  headers: Record<string, string>;
  data: Buffer;
}

export function downloadAttachment(id: string, store: Store): Download {
  const attachment = /^\d{1,15}$/.test(id) ? store.getAttachment(Number(id)) : undefined;
  if (!attachment) throw new HttpError(404, "no such attachment");
  const shown = attachmentType(attachment.name, attachment.contentType);
  const type = passThroughTypes.has(shown) ? shown : "application/octet-stream";
  return {
    headers: {
      "content-type": type.startsWith("text/") ? `${type}; charset=utf-8` : type,
      "content-disposition": dispositionFor(attachment.name),
      "x-content-type-options": "nosniff",
      "content-length": String(attachment.data.length),
    },
    data: attachment.data,
  };
}
