// What the receiver indexes from a report body: classifier, faulting thread, group key, and the columns it lists.
import { createHash } from "node:crypto";

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

export interface ReportSummary {
  uuid: string;
  /** First entry of `classifiers`, or "(unclassified)". */
  classifier: string;
  errorType: string | undefined;
  message: string | undefined;
  application: string | undefined;
  hostname: string | undefined;
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

/** The grouping rule: classifier plus funcName (or address) and library of the top frames; lines are left out. */
export function groupKey(classifier: string, frames: Frame[]): string {
  const parts = frames.slice(0, groupFrameCount).map((frame) => `${text(frame.funcName) ?? text(frame.address) ?? "?"} ${text(frame.library) ?? ""}`);
  return [classifier, ...parts].join("\n");
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
  return {
    uuid: String(body["uuid"]).toLowerCase(),
    classifier,
    errorType: text(attributes["error.type"]),
    message: messageOf(body, attributes),
    application: text(attributes["application"]),
    hostname: text(attributes["hostname"]),
    groupId,
    topFrame: top ? describeFrame(top) : "(no frames)",
  };
}
