// Handles one submission: token, body layout (raw JSON or multipart), validation, storage, and the Backtrace-style answer.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { readBody } from "./body.js";
import { HttpError } from "./errors.js";
import type { GroupCommit } from "./group-commit.js";
import { deeperThan, maxJsonDepth } from "./json-depth.js";
import { parseMultipart } from "./multipart.js";
import type { ResolvedOptions } from "./options.js";
import type { NewAttachment, Store } from "./store.js";
import { isRecord, summarize } from "./summary.js";
import { validateReport } from "./validate.js";

/** Where a submission was aimed: the token and format from the path or the query, and the query itself. */
export interface SubmitTarget {
  token: string | undefined;
  format: string | undefined;
  query: URLSearchParams;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface SubmitContext {
  store: Store;
  /** Where reports are inserted; answers come after their transaction commits. */
  commit: GroupCommit;
  options: ResolvedOptions;
  now: () => number;
  /** Told about each newly stored report (the live view listens). */
  onStored?: (event: { rxid: string; groupId: string; classifier: string; receivedAt: number }) => void;
}

/** Query parameters with a meaning of their own; every other one becomes an attribute. */
const reservedParameters = new Set(["token", "format", "object", "attachment_name"]);

function sameToken(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isMultipart(req: IncomingMessage): boolean {
  return /^multipart\/form-data\b/i.test(req.headers["content-type"] ?? "");
}

/** The body as text without a byte-order mark, and its parsed value. */
function parseJson(bytes: Buffer): { text: string; value: unknown } {
  let text = bytes.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") throw new HttpError(400, "report body is empty");
  if (deeperThan(text)) {
    throw new HttpError(400, `report body nests arrays and objects deeper than ${maxJsonDepth} levels, more than the store can query`);
  }
  try {
    return { text, value: JSON.parse(text) };
  } catch (error) {
    throw new HttpError(400, `report body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Adds attributes that arrived outside the body; an attribute the body already has is kept as sent. */
function withExtraAttributes(body: unknown, extra: Record<string, string>): { body: unknown; changed: boolean } {
  const keys = Object.keys(extra);
  if (keys.length === 0 || !isRecord(body)) return { body, changed: false };
  const attributes = isRecord(body["attributes"]) ? { ...body["attributes"] } : {};
  let changed = false;
  for (const key of keys) {
    if (!Object.hasOwn(attributes, key)) {
      attributes[key] = extra[key];
      changed = true;
    }
  }
  return changed ? { body: { ...body, attributes }, changed } : { body, changed };
}

function queryAttributes(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of query) {
    if (!reservedParameters.has(key) && !key.startsWith("_mod_")) out[key] = value;
  }
  return out;
}

async function submitAttachment(req: IncomingMessage, object: string, target: SubmitTarget, context: SubmitContext): Promise<Answer> {
  const name = target.query.get("attachment_name");
  if (!name) throw new HttpError(400, "attachment_name is required with object");
  const data = await readBody(req, context.options.maxBody);
  // A report queued for commit in this same turn must be findable by its uuid.
  context.commit.flush();
  const declared = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  // curl -d labels any body as a form; that label says nothing about the attachment.
  const contentType = declared === "" || declared === "application/x-www-form-urlencoded" ? "application/octet-stream" : declared;
  const stored = context.store.addAttachment(object, { name, contentType, data }, context.now());
  if (!stored) throw new HttpError(404, `no stored report has the rxid or uuid "${object}"`);
  context.options.log(`attachment ${stored.attachmentId} "${name}" (${data.length} bytes) added to ${stored.reportRxid}`);
  return {
    status: 200,
    body: {
      response: "ok",
      _rxid: stored.reportRxid,
      object: stored.reportRxid,
      attachment_name: name,
      attachment_id: String(stored.attachmentId),
    },
  };
}

/** `_mod_duplicate=<n>`: the occurrences a report merged on the client stands for (Backtrace's C# and Unity SDKs send it). */
function occurrences(query: URLSearchParams): number {
  const value = query.get("_mod_duplicate");
  if (value === null) return 1;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new HttpError(400, `_mod_duplicate must be a whole number of at least 1, got "${value}"`);
  return Number(value);
}

/** Accepts one POST aimed at a submission URL and says what to answer. Throws `HttpError` for anything but 200. */
export async function submit(req: IncomingMessage, target: SubmitTarget, context: SubmitContext): Promise<Answer> {
  const { options, commit } = context;
  if (options.token !== undefined && !sameToken(options.token, target.token)) {
    throw new HttpError(403, target.token === undefined ? "a token is required" : "invalid token");
  }
  if (target.format !== undefined && target.format !== "json") {
    throw new HttpError(400, `format "${target.format}" is not supported; only format=json is`);
  }
  const count = occurrences(target.query);
  const object = target.query.get("object");
  if (object) return submitAttachment(req, object, target, context);

  let raw: Buffer | undefined;
  let attachments: NewAttachment[] = [];
  let fields: Record<string, string> = {};
  if (isMultipart(req)) {
    const parts = await parseMultipart(req, options.maxBody);
    if (!parts.uploadFile) throw new HttpError(400, "multipart body has no upload_file part");
    ({ attachments, fields } = parts);
    raw = parts.uploadFile;
  } else {
    raw = await readBody(req, options.maxBody);
  }

  const parsed = parseJson(raw);
  const { body, changed } = withExtraAttributes(parsed.value, { ...queryAttributes(target.query), ...fields });
  const result = validateReport(body, { tolerateNullAttributes: true });
  if (!result.valid || !isRecord(body)) {
    throw new HttpError(400, "report body does not match the Backtrace report schema", result.errors);
  }
  const summary = summarize(body);
  const text = changed ? JSON.stringify(body) : parsed.text;
  const receivedAt = context.now();
  const stored = await commit.insert({ summary, body: text, flags: result.flags, attachments, receivedAt, occurrences: count });
  if (!stored.duplicate) context.onStored?.({ rxid: stored.rxid, groupId: summary.groupId, classifier: summary.classifier, receivedAt });
  options.log(
    stored.duplicate
      ? `duplicate uuid ${summary.uuid}: already stored as ${stored.rxid}`
      : `report ${stored.rxid} ${summary.classifier} uuid=${summary.uuid}${attachments.length ? ` +${attachments.length} attachment(s)` : ""}`,
  );
  return { status: 200, body: { response: "ok", _rxid: stored.rxid } };
}
