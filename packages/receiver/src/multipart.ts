// Parses a multipart/form-data submission: the `upload_file` report, `attachment_<name>` parts and attribute fields.
import type { IncomingMessage } from "node:http";
import busboy from "busboy";
import { checkDeclaredLength, streamBody } from "./body.js";
import { HttpError } from "./errors.js";
import type { NewAttachment } from "./store.js";

export interface MultipartSubmission {
  /** The report JSON, from a file part or a plain field named `upload_file`. */
  uploadFile: Buffer | undefined;
  attachments: NewAttachment[];
  /** Other text fields; they become attributes. */
  fields: Record<string, string>;
}

const attachmentPrefix = "attachment_";

/** Name of the attachment a part carries: the part name after `attachment_`, else its filename, else the part name. */
function attachmentName(partName: string, filename: string | undefined): string {
  if (partName.startsWith(attachmentPrefix) && partName.length > attachmentPrefix.length) {
    return partName.slice(attachmentPrefix.length);
  }
  return filename || partName;
}

export async function parseMultipart(req: IncomingMessage, maxBody: number): Promise<MultipartSubmission> {
  checkDeclaredLength(req, maxBody);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: "utf8",
      limits: { fieldSize: maxBody, fileSize: maxBody },
    });
  } catch (error) {
    throw new HttpError(400, `malformed multipart body: ${(error as Error).message}`);
  }

  const result: MultipartSubmission = { uploadFile: undefined, attachments: [], fields: {} };
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("file", (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", () => {});
      stream.on("end", () => {
        const data = Buffer.concat(chunks);
        if (name === "upload_file") result.uploadFile = data;
        else result.attachments.push({ name: attachmentName(name ?? "", info.filename), contentType: info.mimeType, data });
      });
    });
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) return reject(new HttpError(413, `multipart field "${name}" is larger than the limit`));
      if (name === "upload_file") result.uploadFile = Buffer.from(value, "utf8");
      else if (name.startsWith(attachmentPrefix)) {
        result.attachments.push({ name: attachmentName(name, undefined), contentType: "text/plain", data: Buffer.from(value, "utf8") });
      } else if (name) result.fields[name] = value;
    });
    parser.on("error", (error: Error) => reject(new HttpError(400, `malformed multipart body: ${error.message}`)));
    parser.on("close", () => resolve());
  });
  // Without this, a rejection that wins the race below would surface as unhandled.
  parsed.catch(() => {});

  await Promise.race([
    streamBody(req, maxBody, (chunk) => parser.write(chunk)).then(() => parser.end()),
    parsed,
  ]);
  await parsed;
  return result;
}
