// SQLite storage (better-sqlite3, WAL): reports, their groups with running counts, and attachments.
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import type { ReportSummary } from "./summary.js";

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
}

export interface InsertResult {
  rxid: string;
  /** True when a report with the same uuid was already stored; nothing was written. */
  duplicate: boolean;
}

export interface GroupRow {
  id: string;
  classifier: string;
  topFrame: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface ReportRow {
  rxid: string;
  uuid: string;
  receivedAt: number;
  groupId: string;
  classifier: string;
  errorType: string | null;
  message: string | null;
  application: string | null;
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

export interface ReportFilter {
  group?: string | undefined;
  /** Attribute equality tests, all of which must hold. */
  attributes: Array<{ key: string; value: string }>;
  /** Substring of the stored JSON, case-insensitive for ASCII. */
  text?: string | undefined;
}

export interface Store {
  insertReport(report: NewReport): InsertResult;
  /** Inserts several reports in one transaction (one commit); results in the same order. A uuid repeated in the list is stored once. */
  insertReports(reports: NewReport[]): InsertResult[];
  /** Attaches to the report whose rxid or uuid is `object`; undefined when there is none. */
  addAttachment(object: string, attachment: NewAttachment, receivedAt: number): { reportRxid: string; attachmentId: number } | undefined;
  listGroups(limit: number, offset: number): { groups: GroupRow[]; total: number };
  getGroup(id: string): GroupRow | undefined;
  listReports(filter: ReportFilter, limit: number, offset: number): { reports: ReportRow[]; total: number };
  /** By rxid or uuid. */
  getReport(idOrUuid: string): ReportRecord | undefined;
  listAttachments(reportRxid: string): AttachmentMeta[];
  getAttachment(id: number): AttachmentData | undefined;
  close(): void;
}

const schema = `
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY,
  rxid TEXT NOT NULL UNIQUE,
  uuid TEXT NOT NULL UNIQUE,
  received_at INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  classifier TEXT NOT NULL,
  error_type TEXT,
  message TEXT,
  application TEXT,
  hostname TEXT,
  flags TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_group ON reports (group_id, id);
CREATE INDEX IF NOT EXISTS reports_error_type ON reports (error_type);
CREATE INDEX IF NOT EXISTS reports_application ON reports (application);
CREATE INDEX IF NOT EXISTS reports_hostname ON reports (hostname);
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY,
  classifier TEXT NOT NULL,
  top_frame TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_last_seen ON groups (last_seen);
CREATE TABLE IF NOT EXISTS attachments (
  id INTEGER PRIMARY KEY,
  report_id INTEGER NOT NULL REFERENCES reports (id),
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS attachments_report ON attachments (report_id);
`;

/** Attributes kept in their own indexed columns; any other attribute is matched inside the JSON. */
const attributeColumns: Record<string, string> = {
  "error.type": "error_type",
  application: "application",
  hostname: "hostname",
};

const reportColumns = `rxid, uuid, received_at AS receivedAt, group_id AS groupId, classifier,
  error_type AS errorType, message, application, hostname`;
const groupColumns = `id, classifier, top_frame AS topFrame, count, first_seen AS firstSeen, last_seen AS lastSeen`;
const attachmentColumns = `id, name, content_type AS contentType, size, received_at AS receivedAt`;

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function whereClause(filter: ReportFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.group !== undefined) {
    clauses.push("group_id = ?");
    params.push(filter.group);
  }
  for (const { key, value } of filter.attributes) {
    const column = attributeColumns[key];
    if (column) {
      clauses.push(`${column} = ?`);
      params.push(value);
    } else {
      // json_each with a bound key avoids building a JSON path from user input.
      clauses.push(`EXISTS (SELECT 1 FROM json_each(reports.body, '$.attributes') AS a WHERE a.key = ?
        AND (CASE a.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(a.value AS TEXT) END) = ?)`);
      params.push(key, value);
    }
  }
  if (filter.text) {
    clauses.push("body LIKE ? ESCAPE '\\'");
    params.push(likePattern(filter.text));
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** Opens (creating if needed) the database at `path`. `newId` makes receive ids. */
export function openStore(path: string, newId: () => string = randomUUID): Store {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // In WAL mode NORMAL survives a crash of the process; only a power loss can drop the last commits.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  db.exec(schema);

  const insertReportRow = db.prepare(`INSERT INTO reports
    (rxid, uuid, received_at, group_id, classifier, error_type, message, application, hostname, flags, body)
    VALUES (@rxid, @uuid, @receivedAt, @groupId, @classifier, @errorType, @message, @application, @hostname, @flags, @body)
    ON CONFLICT (uuid) DO NOTHING RETURNING id`);
  const rxidByUuid = db.prepare<[string], { rxid: string }>("SELECT rxid FROM reports WHERE uuid = ?");
  const upsertGroup = db.prepare(`INSERT INTO groups (id, classifier, top_frame, count, first_seen, last_seen)
    VALUES (@groupId, @classifier, @topFrame, 1, @receivedAt, @receivedAt)
    ON CONFLICT (id) DO UPDATE SET count = count + 1,
      first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`);
  const insertAttachment = db.prepare(`INSERT INTO attachments (report_id, name, content_type, size, received_at, data)
    VALUES (?, ?, ?, ?, ?, ?)`);
  const reportIdByObject = db.prepare<[string, string], { id: number; rxid: string }>(
    "SELECT id, rxid FROM reports WHERE rxid = ? UNION ALL SELECT id, rxid FROM reports WHERE uuid = ? LIMIT 1",
  );
  const selectReport = db.prepare<[string, string], ReportRecord & { flags: string }>(
    `SELECT id, ${reportColumns}, flags, body FROM reports WHERE rxid = ?
     UNION ALL SELECT id, ${reportColumns}, flags, body FROM reports WHERE uuid = ? LIMIT 1`,
  );
  const selectGroups = db.prepare<[number, number], GroupRow>(
    `SELECT ${groupColumns} FROM groups ORDER BY last_seen DESC, id LIMIT ? OFFSET ?`,
  );
  const countGroups = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM groups");
  const selectGroup = db.prepare<[string], GroupRow>(`SELECT ${groupColumns} FROM groups WHERE id = ?`);
  const selectAttachments = db.prepare<[string], AttachmentMeta>(
    `SELECT ${attachmentColumns} FROM attachments WHERE report_id = (SELECT id FROM reports WHERE rxid = ?) ORDER BY id`,
  );
  const selectAttachment = db.prepare<[number], AttachmentData>(
    `SELECT a.id, a.name, a.content_type AS contentType, a.size, a.received_at AS receivedAt, a.data, r.rxid AS reportRxid
     FROM attachments a JOIN reports r ON r.id = a.report_id WHERE a.id = ?`,
  );

  const insertOne = (report: NewReport): InsertResult => {
    const { summary } = report;
    const rxid = newId();
    const inserted = insertReportRow.get({
      rxid,
      uuid: summary.uuid,
      receivedAt: report.receivedAt,
      groupId: summary.groupId,
      classifier: summary.classifier,
      errorType: summary.errorType ?? null,
      message: summary.message ?? null,
      application: summary.application ?? null,
      hostname: summary.hostname ?? null,
      flags: JSON.stringify(report.flags),
      body: report.body,
    }) as { id: number } | undefined;
    if (!inserted) {
      const existing = rxidByUuid.get(summary.uuid);
      return { rxid: existing?.rxid ?? "", duplicate: true };
    }
    upsertGroup.run({ groupId: summary.groupId, classifier: summary.classifier, topFrame: summary.topFrame, receivedAt: report.receivedAt });
    for (const attachment of report.attachments) {
      insertAttachment.run(inserted.id, attachment.name, attachment.contentType, attachment.data.length, report.receivedAt, attachment.data);
    }
    return { rxid, duplicate: false };
  };
  const insertReport = db.transaction(insertOne);
  const insertReports = db.transaction((reports: NewReport[]): InsertResult[] => reports.map(insertOne));

  return {
    // IMMEDIATE takes the write lock up front, so two processes sharing the file cannot deadlock on upgrade.
    insertReport: (report) => insertReport.immediate(report),
    insertReports: (reports) => insertReports.immediate(reports),
    addAttachment(object, attachment, receivedAt) {
      const report = reportIdByObject.get(object, object.toLowerCase());
      if (!report) return undefined;
      const info = insertAttachment.run(report.id, attachment.name, attachment.contentType, attachment.data.length, receivedAt, attachment.data);
      return { reportRxid: report.rxid, attachmentId: Number(info.lastInsertRowid) };
    },
    listGroups(limit, offset) {
      return { groups: selectGroups.all(limit, offset), total: countGroups.get()?.n ?? 0 };
    },
    getGroup: (id) => selectGroup.get(id),
    listReports(filter, limit, offset) {
      const where = whereClause(filter);
      const reports = db
        .prepare(`SELECT ${reportColumns} FROM reports ${where.sql} ORDER BY id DESC LIMIT ? OFFSET ?`)
        .all(...where.params, limit, offset) as ReportRow[];
      const total = (db.prepare(`SELECT count(*) AS n FROM reports ${where.sql}`).get(...where.params) as { n: number }).n;
      return { reports, total };
    },
    getReport(idOrUuid) {
      const row = selectReport.get(idOrUuid, idOrUuid.toLowerCase());
      if (!row) return undefined;
      return { ...row, flags: JSON.parse(row.flags) as string[] };
    },
    listAttachments: (reportRxid) => selectAttachments.all(reportRxid),
    getAttachment: (id) => selectAttachment.get(id),
    close: () => db.close(),
  };
}
