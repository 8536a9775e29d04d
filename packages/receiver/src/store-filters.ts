// SQL for report filters: attribute tests on columns or the attributes JSON, and text search through the FTS index.
import { attributeColumns } from "./store-schema.js";

export interface ReportFilter {
  group?: string | undefined;
  /** Attribute equality tests, all of which must hold. */
  attributes: Array<{ key: string; value: string }>;
  /** Words searched in classifiers, messages and attribute values (each word a prefix), never in source code. */
  text?: string | undefined;
}

export function hasConditions(filter: ReportFilter): boolean {
  return filter.attributes.length > 0 || filter.text !== undefined;
}

/**
 * The FTS5 query for free text: each space-separated term becomes a phrase of its words whose last word is a prefix
 * (`config.json` finds "config.json", `ECONN` finds "ECONNREFUSED"); all terms must match. Undefined when the text
 * holds no word at all, which matches nothing.
 */
export function searchQuery(text: string): string | undefined {
  const terms = text
    .split(/\s+/)
    .map((term) => term.match(/[\p{L}\p{N}]+/gu) ?? [])
    .filter((words) => words.length > 0)
    .map((words) => `"${words.join(" ")}"*`);
  return terms.length > 0 ? terms.join(" AND ") : undefined;
}

/** A WHERE clause over `reports` (aliased as the table name) and its parameters. */
export function whereClause(filter: ReportFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.group !== undefined) {
    clauses.push("reports.group_id = ?");
    params.push(filter.group);
  }
  for (const { key, value } of filter.attributes) {
    const column = attributeColumns[key];
    if (column) {
      clauses.push(`reports.${column} = ?`);
      params.push(value);
    } else {
      // json_each with a bound key avoids building a JSON path from user input.
      clauses.push(`EXISTS (SELECT 1 FROM report_attributes ra, json_each(ra.attributes) AS a WHERE ra.report_id = reports.id AND a.key = ?
        AND (CASE a.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(a.value AS TEXT) END) = ?)`);
      params.push(key, value);
    }
  }
  if (filter.text !== undefined) {
    const query = searchQuery(filter.text);
    if (query === undefined) clauses.push("0");
    else {
      clauses.push("reports.id IN (SELECT rowid FROM search WHERE search MATCH ?)");
      params.push(query);
    }
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "", params };
}
