// A serialized report body on its way to the transport and the spool: JSON text in pieces, where the
// pieces every report from one place repeats (its source excerpts) are UTF-8 bytes made once and shared.

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
