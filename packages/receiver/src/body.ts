// Reads a request body into memory, never more than the byte limit (413 past it).
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.js";

export function tooLarge(maxBody: number): HttpError {
  return new HttpError(413, `request body is larger than the ${maxBody}-byte limit`);
}

/** Throws 413 straight away when the declared Content-Length is already over the limit. */
export function checkDeclaredLength(req: IncomingMessage, maxBody: number): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBody) throw tooLarge(maxBody);
}

/**
 * Calls `onChunk` for each chunk and rejects with 413 as soon as the running total passes `maxBody`.
 * On 413 the request is paused: the server answers with Connection: close and the socket goes away.
 */
export function streamBody(req: IncomingMessage, maxBody: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let total = 0;
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      req.off("data", onData);
      if (error) {
        req.pause();
        reject(error);
      } else resolve();
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBody) return finish(tooLarge(maxBody));
      onChunk(chunk);
    };
    req.on("data", onData);
    req.once("end", () => finish());
    req.once("error", (error) => finish(new HttpError(400, `request body could not be read: ${error.message}`)));
    req.once("aborted", () => finish(new HttpError(400, "request aborted")));
  });
}

/** The whole body as one buffer, bounded by `maxBody`. */
export async function readBody(req: IncomingMessage, maxBody: number): Promise<Buffer> {
  checkDeclaredLength(req, maxBody);
  const chunks: Buffer[] = [];
  await streamBody(req, maxBody, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks);
}
