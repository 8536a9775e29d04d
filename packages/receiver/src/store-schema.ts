// The SQLite schema of the store, and which attributes have columns of their own (leaf).

/** Bumped when the tables change; a database of an older version is migrated when opened. */
export const schemaVersion = 2;

/**
 * Reports keep small rows (the columns lists, filters and charts read) so a scan over 100,000 of them stays in tens of
 * megabytes; attributes and bodies live in tables of their own, read only for the rows that need them.
 */
export const schema = `
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY,
  rxid TEXT NOT NULL UNIQUE,
  uuid TEXT NOT NULL UNIQUE,
  received_at INTEGER NOT NULL,
  occurrences INTEGER NOT NULL,
  group_id TEXT NOT NULL,
  classifier TEXT NOT NULL,
  error_type TEXT,
  message TEXT,
  application TEXT,
  version TEXT,
  hostname TEXT,
  environment TEXT,
  route TEXT,
  flags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_group_time ON reports (group_id, received_at, occurrences);
CREATE INDEX IF NOT EXISTS reports_error_type ON reports (error_type);
CREATE INDEX IF NOT EXISTS reports_application ON reports (application);
CREATE INDEX IF NOT EXISTS reports_hostname ON reports (hostname);
CREATE TABLE IF NOT EXISTS report_attributes (report_id INTEGER PRIMARY KEY REFERENCES reports (id), attributes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bodies (report_id INTEGER PRIMARY KEY REFERENCES reports (id), body TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5 (text, content = '', tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS groups (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  classifier TEXT NOT NULL,
  message TEXT,
  top_frame TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS groups_last_seen ON groups (kind, last_seen);
CREATE INDEX IF NOT EXISTS groups_count ON groups (kind, count);
CREATE TABLE IF NOT EXISTS group_versions (
  group_id TEXT NOT NULL,
  version TEXT NOT NULL,
  count INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (group_id, version)
) WITHOUT ROWID;
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

/** Version 1 kept the body in the reports row and grouped on absolute paths; its tables are renamed, then copied over. */
export const renameVersion1 = `
DROP INDEX IF EXISTS reports_group;
DROP INDEX IF EXISTS reports_error_type;
DROP INDEX IF EXISTS reports_application;
DROP INDEX IF EXISTS reports_hostname;
DROP INDEX IF EXISTS groups_last_seen;
DROP INDEX IF EXISTS attachments_report;
DROP TABLE IF EXISTS groups;
ALTER TABLE reports RENAME TO reports_v1;
ALTER TABLE attachments RENAME TO attachments_v1;
`;

/** Attributes kept in their own columns, compared there; any other attribute is matched in its report's attributes JSON. */
export const attributeColumns: Record<string, string> = {
  "error.type": "error_type",
  application: "application",
  "application.version": "version",
  hostname: "hostname",
  environment: "environment",
};

/** The facets shown on a group page, by column: hostname, version, environment, route. */
export const facetColumns = { hostname: "hostname", "application.version": "version", environment: "environment", route: "route" } as const;
export type FacetKey = keyof typeof facetColumns;
