// What delivery, transport and spool move around: one serialized report (JSON text in pieces) and its
// attachments. The pieces every report from one place repeats (its source excerpts) are UTF-8 bytes made
// once and shared.

/** JSON text in order: strings and UTF-8 bytes. `bytes` is the UTF-8 length of the whole. */
export interface JsonBody {
  readonly pieces: readonly (string | Buffer)[];
  readonly bytes: number;
}

/** A body that is one string. */
export function jsonBody(text: string): JsonBody {
  return { pieces: [text], bytes: Buffer.byteLength(text, "utf8") };
}

/** The whole text, for the spool and for trimming; sending writes the pieces as they are. */
export function jsonText(body: JsonBody): string {
  const { pieces } = body;
  if (pieces.length === 1 && typeof pieces[0] === "string") return pieces[0];
  let text = "";
  for (const piece of pieces) text += typeof piece === "string" ? piece : piece.toString("utf8");
  return text;
}

/** A file to send with a report, as a multipart part `attachment_<name>`, read when it is sent. */
export interface FileAttachment {
  name: string;
  path: string;
  data?: undefined;
}

/** Bytes held in memory (breadcrumbs, an application's buffer), sent as a multipart part `attachment_<name>`. */
export interface DataAttachment {
  name: string;
  data: Buffer;
  path?: undefined;
}

export type AttachmentRef = FileAttachment | DataAttachment;

/** One serialized report and its attachments. */
export interface Payload {
  uuid: string;
  /** The serialized report body. */
  json: JsonBody;
  /** Sent as multipart when non-empty. */
  attachments: AttachmentRef[];
  /** Occurrences the report stands for when duplicates were merged into it (> 1); sent as `_mod_duplicate` on the URL. */
  duplicates?: number | undefined;
}

/** Occurrences a report stood for beyond its own one: what its loss takes besides itself (`duplicates` as on Payload). */
export function mergedBeyondOwn(duplicates: number | undefined): number {
  return Math.max(0, (duplicates ?? 1) - 1);
}

/** The `_mod_duplicate` query parameter a Backtrace server counts merged occurrences by; "" for a single occurrence. */
export function duplicateQuery(payload: Payload): string {
  const n = payload.duplicates;
  return n !== undefined && Number.isSafeInteger(n) && n > 1 ? `_mod_duplicate=${n}` : "";
}
