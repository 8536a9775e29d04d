// SQLite storage (better-sqlite3, WAL): reports with occurrence counts, their groups, search index, attachments; the queries the viewer needs.
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { hasConditions, whereClause, type ReportFilter } from "./store-filters.js";
import { facetColumns, renameVersion1, schema, schemaVersion, type FacetKey } from "./store-schema.js";
import { summarize, type ReportKind, type ReportSummary } from "./summary.js";

export type { ReportFilter } from "./store-filters.js";
export type { FacetKey } from "./store-schema.js";

export interface NewAttachment {
  name: string;
  contentType: string;
  data: Buffer;
}

export interface NewReport {
  summary: ReportSummary;
  /** The stored JSON text of the body. */
  body: string;
  /** Deviations accepted during validation (null attributes). */
  flags: string[];
  attachments: NewAttachment[];
  receivedAt: number;
  /** Occurrences this report stands for (`_mod_duplicate`); 1 when absent. */
  occurrences?: number;
}

export interface InsertResult {
  rxid: string;
  /** True when a report with the same uuid was already stored; nothing was written. */
  duplicate: boolean;
}

export interface GroupRow {
  id: string;
  kind: ReportKind;
  classifier: string;
  /** The message of the latest report. */
  message: string | null;
  topFrame: string;
  /** Occurrences: the sum of the reports' counts, not the number of rows. */
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface ReportRow {
  rxid: string;
  uuid: string;
  receivedAt: number;
  occurrences: number;
  groupId: string;
  classifier: string;
  errorType: string | null;
  message: string | null;
  application: string | null;
  version: string | null;
  hostname: string | null;
}

export interface ReportRecord extends ReportRow {
  id: number;
  flags: string[];
  body: string;
}

export interface AttachmentMeta {
  id: number;
  name: string;
  contentType: string;
  size: number;
  receivedAt: number;
}

export interface AttachmentData extends AttachmentMeta {
  reportRxid: string;
  data: Buffer;
}

export type GroupSort = "last" | "count";

export interface GroupQuery {
  kind: ReportKind;
  /** Attribute and text conditions; with any, groups and counts come from the matching reports only. */
  filter: ReportFilter;
  sort: GroupSort;
  limit: number;
  offset: number;
}

export interface GroupList {
  groups: GroupRow[];
  total: number;
  /** Groups of each kind that match, for the tabs. */
  kinds: Record<ReportKind, number>;
}

/** Occurrences per time bucket: `buckets` counts over [from, from + buckets × width). */
export interface Timeline {
  from: number;
  width: number;
  counts: number[];
}

export type Facets = Record<FacetKey, Array<{ value: string; count: number }>>;

export interface Store {
  insertReport(report: NewReport): InsertResult;
  /** Inserts several reports in one transaction (one commit); results in the same order. A uuid repeated in the list is stored once. */
  insertReports(reports: NewReport[]): InsertResult[];
  /** Attaches to the report whose rxid or uuid is `object`; undefined when there is none. */
  addAttachment(object: string, attachment: NewAttachment, receivedAt: number): { reportRxid: string; attachmentId: number } | undefined;
  listGroups(query: GroupQuery): GroupList;
  getGroup(id: string): GroupRow | undefined;
  /** Occurrences per bucket for each group, counting only reports that match `filter`. */
  timelines(groupIds: string[], filter: ReportFilter, from: number, width: number, buckets: number): Map<string, number[]>;
  /** The versions each group occurred in, most recently seen first. */
  versions(groupIds: string[]): Map<string, string[]>;
  /** The most frequent values of the main attributes among a group's matching reports (the latest `sample` of them). */
  facets(groupId: string, filter: ReportFilter, sample: number): Facets;
  listReports(filter: ReportFilter, limit: number, offset: number): { reports: ReportRow[]; total: number };
  /** By rxid or uuid. */
  getReport(idOrUuid: string): ReportRecord | undefined;
  listAttachments(reportRxid: string): AttachmentMeta[];
  getAttachment(id: number): AttachmentData | undefined;
  close(): void;
}

const reportColumns = `reports.rxid, reports.uuid, reports.received_at AS receivedAt, reports.occurrences, reports.group_id AS groupId,
  reports.classifier, reports.error_type AS errorType, reports.message, reports.application, reports.version, reports.hostname`;
const groupColumns = `id, kind, classifier, message, top_frame AS topFrame, count, first_seen AS firstSeen, last_seen AS lastSeen`;
const attachmentColumns = `id, name, content_type AS contentType, size, received_at AS receivedAt`;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(", ");
}

/** Opens (creating or migrating if needed) the database at `path`. `newId` makes receive ids. */
export function openStore(path: string, newId: () => string = randomUUID): Store {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // In WAL mode NORMAL survives a crash of the process; only a power loss can drop the last commits.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  const version = db.pragma("user_version", { simple: true }) as number;
  const hasVersion1 = version < 2 && db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reports'").get() !== undefined;
  if (version > schemaVersion) throw new Error(`the database was written by a newer receiver (schema ${version}; this one knows ${schemaVersion})`);
  if (hasVersion1) db.exec(renameVersion1);
  db.exec(schema);

  const insertReportRow = db.prepare(`INSERT INTO reports
    (rxid, uuid, received_at, occurrences, group_id, classifier, error_type, message, application, version, hostname, environment, route, flags)
    VALUES (@rxid, @uuid, @receivedAt, @occurrences, @groupId, @classifier, @errorType, @message, @application, @version, @hostname, @environment, @route, @flags)
    ON CONFLICT (uuid) DO NOTHING RETURNING id`);
  const insertAttributes = db.prepare("INSERT INTO report_attributes (report_id, attributes) VALUES (?, ?)");
  const insertBody = db.prepare("INSERT INTO bodies (report_id, body) VALUES (?, ?)");
  const insertSearch = db.prepare("INSERT INTO search (rowid, text) VALUES (?, ?)");
  const rxidByUuid = db.prepare<[string], { rxid: string }>("SELECT rxid FROM reports WHERE uuid = ?");
  const upsertGroup = db.prepare(`INSERT INTO groups (id, kind, classifier, message, top_frame, count, first_seen, last_seen)
    VALUES (@groupId, @kind, @classifier, @message, @topFrame, @occurrences, @receivedAt, @receivedAt)
    ON CONFLICT (id) DO UPDATE SET count = count + excluded.count,
      message = CASE WHEN excluded.last_seen >= last_seen THEN excluded.message ELSE message END,
      first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`);
  const upsertVersion = db.prepare(`INSERT INTO group_versions (group_id, version, count, last_seen) VALUES (?, ?, ?, ?)
    ON CONFLICT (group_id, version) DO UPDATE SET count = count + excluded.count, last_seen = max(last_seen, excluded.last_seen)`);
  const insertAttachment = db.prepare(`INSERT INTO attachments (report_id, name, content_type, size, received_at, data)
    VALUES (?, ?, ?, ?, ?, ?)`);
  const reportIdByObject = db.prepare<[string, string], { id: number; rxid: string }>(
    "SELECT id, rxid FROM reports WHERE rxid = ? UNION ALL SELECT id, rxid FROM reports WHERE uuid = ? LIMIT 1",
  );
  const selectReport = db.prepare<[number], ReportRecord & { flags: string }>(
    `SELECT reports.id, ${reportColumns}, reports.flags, bodies.body FROM reports JOIN bodies ON bodies.report_id = reports.id WHERE reports.id = ?`,
  );
  const selectGroupsByLast = db.prepare<[string, number, number], GroupRow>(
    `SELECT ${groupColumns} FROM groups WHERE kind = ? ORDER BY last_seen DESC, id LIMIT ? OFFSET ?`,
  );
  const selectGroupsByCount = db.prepare<[string, number, number], GroupRow>(
    `SELECT ${groupColumns} FROM groups WHERE kind = ? ORDER BY count DESC, last_seen DESC LIMIT ? OFFSET ?`,
  );
  const countKinds = db.prepare<[], { kind: ReportKind; n: number }>("SELECT kind, count(*) AS n FROM groups GROUP BY kind");
  const selectGroup = db.prepare<[string], GroupRow>(`SELECT ${groupColumns} FROM groups WHERE id = ?`);
  const selectAttachments = db.prepare<[string], AttachmentMeta>(
    `SELECT ${attachmentColumns} FROM attachments WHERE report_id = (SELECT id FROM reports WHERE rxid = ?) ORDER BY id`,
  );
  const selectAttachment = db.prepare<[number], AttachmentData>(
    `SELECT a.id, a.name, a.content_type AS contentType, a.size, a.received_at AS receivedAt, a.data, r.rxid AS reportRxid
     FROM attachments a JOIN reports r ON r.id = a.report_id WHERE a.id = ?`,
  );

  const insertOne = (report: NewReport, rxid = newId()): InsertResult & { id?: number } => {
    const { summary } = report;
    const occurrences = report.occurrences ?? 1;
    const inserted = insertReportRow.get({
      rxid,
      uuid: summary.uuid,
      receivedAt: report.receivedAt,
      occurrences,
      groupId: summary.groupId,
      classifier: summary.classifier,
      errorType: summary.errorType ?? null,
      message: summary.message ?? null,
      application: summary.application ?? null,
      version: summary.version ?? null,
      hostname: summary.hostname ?? null,
      environment: summary.environment ?? null,
      route: summary.route ?? null,
      flags: JSON.stringify(report.flags),
    }) as { id: number } | undefined;
    if (!inserted) {
      const existing = rxidByUuid.get(summary.uuid);
      return { rxid: existing?.rxid ?? "", duplicate: true };
    }
    insertAttributes.run(inserted.id, summary.attributes);
    insertBody.run(inserted.id, report.body);
    insertSearch.run(inserted.id, summary.searchText);
    upsertGroup.run({
      groupId: summary.groupId,
      kind: summary.kind,
      classifier: summary.classifier,
      message: summary.message ?? null,
      topFrame: summary.topFrame,
      occurrences,
      receivedAt: report.receivedAt,
    });
    if (summary.version !== undefined) upsertVersion.run(summary.groupId, summary.version, occurrences, report.receivedAt);
    for (const attachment of report.attachments) {
      insertAttachment.run(inserted.id, attachment.name, attachment.contentType, attachment.data.length, report.receivedAt, attachment.data);
    }
    return { rxid, duplicate: false, id: inserted.id };
  };
  const insertReport = db.transaction((report: NewReport) => insertOne(report));
  const insertReports = db.transaction((reports: NewReport[]): InsertResult[] => reports.map((report) => insertOne(report)));

  if (hasVersion1) {
    // Re-summarized from the stored bodies: the new grouping rule gives new group ids.
    db.transaction(() => {
      const old = db.prepare("SELECT id, rxid, received_at AS receivedAt, flags, body FROM reports_v1 ORDER BY id").all() as Array<{
        id: number; rxid: string; receivedAt: number; flags: string; body: string;
      }>;
      const copyAttachments = db.prepare(`INSERT INTO attachments (report_id, name, content_type, size, received_at, data)
        SELECT ?, name, content_type, size, received_at, data FROM attachments_v1 WHERE report_id = ? ORDER BY id`);
      for (const row of old) {
        const summary = summarize(JSON.parse(row.body) as Record<string, unknown>);
        const result = insertOne({ summary, body: row.body, flags: JSON.parse(row.flags) as string[], attachments: [], receivedAt: row.receivedAt }, row.rxid);
        if (result.id !== undefined) copyAttachments.run(result.id, row.id);
      }
      db.exec("DROP TABLE attachments_v1; DROP TABLE reports_v1;");
    })();
  }
  db.pragma(`user_version = ${schemaVersion}`);

  const findReportId = (idOrUuid: string): { id: number; rxid: string } | undefined => reportIdByObject.get(idOrUuid, idOrUuid.toLowerCase());

  function listGroups(query: GroupQuery): GroupList {
    const { kind, filter, sort, limit, offset } = query;
    if (!hasConditions(filter)) {
      const kinds: Record<ReportKind, number> = { error: 0, message: 0 };
      for (const row of countKinds.all()) kinds[row.kind] = row.n;
      const groups = (sort === "count" ? selectGroupsByCount : selectGroupsByLast).all(kind, limit, offset);
      return { groups, total: kinds[kind], kinds };
    }
    // Counts, first and last seen of the matching reports only; the groups matching are few enough to sort here.
    const where = whereClause(filter);
    const rows = db
      .prepare(
        `WITH m AS (SELECT reports.group_id AS gid, sum(reports.occurrences) AS count, min(reports.received_at) AS firstSeen,
           max(reports.received_at) AS lastSeen FROM reports ${where.sql} GROUP BY reports.group_id)
         SELECT g.id, g.kind, g.classifier, g.message, g.top_frame AS topFrame, m.count, m.firstSeen, m.lastSeen FROM m JOIN groups g ON g.id = m.gid`,
      )
      .all(...where.params) as GroupRow[];
    const kinds: Record<ReportKind, number> = { error: 0, message: 0 };
    for (const row of rows) kinds[row.kind]++;
    const ofKind = rows.filter((row) => row.kind === kind);
    ofKind.sort(sort === "count" ? (a, b) => b.count - a.count || b.lastSeen - a.lastSeen : (a, b) => b.lastSeen - a.lastSeen || (a.id < b.id ? -1 : 1));
    return { groups: ofKind.slice(offset, offset + limit), total: ofKind.length, kinds };
  }

  return {
    // IMMEDIATE takes the write lock up front, so two processes sharing the file cannot deadlock on upgrade.
    insertReport: (report) => {
      const { rxid, duplicate } = insertReport.immediate(report);
      return { rxid, duplicate };
    },
    insertReports: (reports) => insertReports.immediate(reports).map(({ rxid, duplicate }) => ({ rxid, duplicate })),
    addAttachment(object, attachment, receivedAt) {
      const report = findReportId(object);
      if (!report) return undefined;
      const info = insertAttachment.run(report.id, attachment.name, attachment.contentType, attachment.data.length, receivedAt, attachment.data);
      return { reportRxid: report.rxid, attachmentId: Number(info.lastInsertRowid) };
    },
    listGroups,
    getGroup: (id) => selectGroup.get(id),
    timelines(groupIds, filter, from, width, buckets) {
      const out = new Map(groupIds.map((id) => [id, new Array<number>(buckets).fill(0)]));
      if (groupIds.length === 0) return out;
      const where = whereClause(filter);
      const rows = db
        .prepare(
          `SELECT reports.group_id AS gid, (reports.received_at - ?) / ? AS bucket, sum(reports.occurrences) AS n FROM reports
           ${where.sql ? `${where.sql} AND` : "WHERE"} reports.group_id IN (${placeholders(groupIds.length)})
           AND reports.received_at >= ? AND reports.received_at < ? GROUP BY gid, bucket`,
        )
        .all(from, width, ...where.params, ...groupIds, from, from + width * buckets) as Array<{ gid: string; bucket: number; n: number }>;
      for (const row of rows) {
        const counts = out.get(row.gid);
        const index = Math.floor(row.bucket);
        if (counts && index >= 0 && index < buckets) counts[index] = (counts[index] ?? 0) + row.n;
      }
      return out;
    },
    versions(groupIds) {
      const out = new Map<string, string[]>(groupIds.map((id) => [id, []]));
      if (groupIds.length === 0) return out;
      const rows = db
        .prepare(`SELECT group_id AS gid, version FROM group_versions WHERE group_id IN (${placeholders(groupIds.length)}) ORDER BY last_seen DESC`)
        .all(...groupIds) as Array<{ gid: string; version: string }>;
      for (const row of rows) out.get(row.gid)?.push(row.version);
      return out;
    },
    facets(groupId, filter, sample) {
      const where = whereClause({ ...filter, group: groupId });
      const out = {} as Facets;
      for (const [key, column] of Object.entries(facetColumns) as Array<[FacetKey, string]>) {
        out[key] = db
          .prepare(
            `SELECT value, sum(n) AS count FROM (SELECT reports.${column} AS value, reports.occurrences AS n FROM reports ${where.sql}
             ORDER BY reports.received_at DESC LIMIT ?) WHERE value IS NOT NULL GROUP BY value ORDER BY count DESC, value LIMIT 8`,
          )
          .all(...where.params, sample) as Array<{ value: string; count: number }>;
      }
      return out;
    },
    listReports(filter, limit, offset) {
      const where = whereClause(filter);
      const order = filter.group !== undefined ? "reports.received_at DESC, reports.id DESC" : "reports.id DESC";
      const reports = db
        .prepare(`SELECT ${reportColumns} FROM reports ${where.sql} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(...where.params, limit, offset) as ReportRow[];
      const total = (db.prepare(`SELECT count(*) AS n FROM reports ${where.sql}`).get(...where.params) as { n: number }).n;
      return { reports, total };
    },
    getReport(idOrUuid) {
      const found = findReportId(idOrUuid);
      const row = found ? selectReport.get(found.id) : undefined;
      if (!row) return undefined;
      return { ...row, flags: JSON.parse(row.flags) as string[] };
    },
    listAttachments: (reportRxid) => selectAttachments.all(reportRxid),
    getAttachment: (id) => selectAttachment.get(id),
    close: () => db.close(),
  };
}
