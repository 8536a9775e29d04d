// What the receiver indexes from a report body: classifier, faulting thread, group key, and the columns it lists.
import { createHash } from "node:crypto";
import { normalizeLibrary } from "./frame-paths.js";

export interface Frame {
  funcName?: unknown;
  address?: unknown;
  library?: unknown;
  line?: unknown;
  column?: unknown;
  sourceCode?: unknown;
  [key: string]: unknown;
}

export interface FaultingThread {
  id: string;
  name: string;
  frames: Frame[];
}

/** Reports sent as messages (`error.type` "Message", as both Backtrace Node clients set it) are listed apart from errors. */
export type ReportKind = "error" | "message";

export interface ReportSummary {
  uuid: string;
  /** First entry of `classifiers`, or "(unclassified)". */
  classifier: string;
  kind: ReportKind;
  errorType: string | undefined;
  message: string | undefined;
  application: string | undefined;
  /** `application.version`. */
  version: string | undefined;
  hostname: string | undefined;
  /** `environment`, else `deployment.environment`. */
  environment: string | undefined;
  /** `request.route`, else `route`, else `request.path`. */
  route: string | undefined;
  /** The attributes as JSON text, kept apart from the body so filters read a small, flat document. */
  attributes: string;
  /** What text search looks in: classifier, message and attribute values, never source code. */
  searchText: string;
  /** Hex digest of the group key; reports with the same classifier and top frames share it. */
  groupId: string;
  /** The top frame as shown in lists, e.g. "readConfig (config.ts:12)". */
  topFrame: string;
}

/** How many innermost frames of the faulting thread take part in grouping. */
export const groupFrameCount = 3;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** The thread that failed: the first with `fault: true`, else `mainThread`, else the first listed. */
export function faultingThread(body: Record<string, unknown>): FaultingThread | undefined {
  const threads = isRecord(body["threads"]) ? body["threads"] : {};
  const entries = Object.entries(threads).filter(([, thread]) => isRecord(thread)) as Array<[string, Record<string, unknown>]>;
  const mainId = typeof body["mainThread"] === "string" ? body["mainThread"] : undefined;
  const chosen =
    entries.find(([, thread]) => thread["fault"] === true) ??
    entries.find(([id]) => id === mainId) ??
    entries[0];
  if (!chosen) return undefined;
  const [id, thread] = chosen;
  const frames = Array.isArray(thread["stack"]) ? (thread["stack"].filter(isRecord) as Frame[]) : [];
  return { id, name: text(thread["name"]) ?? id, frames };
}

function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** "funcName (file:line)", short enough for a list. */
export function describeFrame(frame: Frame): string {
  const name = text(frame.funcName) ?? text(frame.address) ?? "?";
  const library = text(frame.library);
  const line = text(frame.line);
  if (!library) return line ? `${name} (line ${line})` : name;
  return `${name} (${baseName(library)}${line ? `:${line}` : ""})`;
}

/**
 * The grouping rule: classifier plus funcName (or address) of the top frames, each with its file normalized to the
 * application (no absolute prefix, no release folder), so a deploy to another folder keeps the group; lines are left out.
 */
export function groupKey(classifier: string, frames: Frame[]): string {
  const parts = frames.slice(0, groupFrameCount).map((frame) => {
    const library = text(frame.library);
    return `${text(frame.funcName) ?? text(frame.address) ?? "?"} ${library === undefined ? "" : normalizeLibrary(library)}`;
  });
  return [classifier, ...parts].join("\n");
}

/** Longest attribute value, and total, copied into the search text; longer values are rarely what anyone types. */
const searchValueLimit = 1024;
const searchTextLimit = 32 * 1024;

function searchText(uuid: string, classifier: string, message: string | undefined, attributes: Record<string, unknown>): string {
  // The uuid too: it is what people paste from a client's log.
  const parts = [uuid, classifier, message ?? ""];
  let length = parts.join("").length;
  for (const value of Object.values(attributes)) {
    const item = text(value);
    if (item === undefined) continue;
    const cut = item.slice(0, searchValueLimit);
    if ((length += cut.length + 1) > searchTextLimit) break;
    parts.push(cut);
  }
  return parts.join("\n");
}

function firstText(attributes: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = text(attributes[key]);
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

function messageOf(body: Record<string, unknown>, attributes: Record<string, unknown>): string | undefined {
  const fromAttribute = text(attributes["error.message"]);
  if (fromAttribute !== undefined) return fromAttribute;
  const annotations = isRecord(body["annotations"]) ? body["annotations"] : {};
  for (const key of ["Exception", "error"]) {
    const annotation = annotations[key];
    if (isRecord(annotation) && typeof annotation["message"] === "string") return annotation["message"];
  }
  return undefined;
}

/** Reads the indexed columns of a body that already passed validation. */
export function summarize(body: Record<string, unknown>): ReportSummary {
  const attributes = isRecord(body["attributes"]) ? body["attributes"] : {};
  const classifiers = Array.isArray(body["classifiers"]) ? body["classifiers"] : [];
  const classifier = text(classifiers[0]) ?? "(unclassified)";
  const frames = faultingThread(body)?.frames ?? [];
  const groupId = createHash("sha256").update(groupKey(classifier, frames)).digest("hex").slice(0, 16);
  const top = frames[0];
  const errorType = text(attributes["error.type"]);
  const uuid = String(body["uuid"]).toLowerCase();
  const message = messageOf(body, attributes);
  return {
    uuid,
    classifier,
    kind: errorType === "Message" ? "message" : "error",
    errorType,
    message,
    application: text(attributes["application"]),
    version: text(attributes["application.version"]),
    hostname: text(attributes["hostname"]),
    environment: firstText(attributes, ["environment", "deployment.environment"]),
    route: firstText(attributes, ["request.route", "route", "request.path"]),
    attributes: JSON.stringify(attributes),
    searchText: searchText(uuid, classifier, message, attributes),
    groupId,
    topFrame: top ? describeFrame(top) : "(no frames)",
  };
}
