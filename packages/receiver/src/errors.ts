// The receiver's named errors: bad configuration (thrown at start) and HTTP answers (thrown while handling a request).

/** Stable codes callers can match on. */
export type ReceiverErrorCode = "BAD_OPTION";

/** Thrown by `startReceiver` and the command line when an option is wrong. */
export class ReceiverError extends Error {
  override readonly name = "ReceiverError";
  constructor(
    readonly code: ReceiverErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isReceiverError(value: unknown): value is ReceiverError {
  return value instanceof ReceiverError;
}

/** An answer other than 200, raised inside a request handler and turned into a JSON reply by the server. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    /** Details such as schema validation errors, one line each. */
    readonly details: string[] = [],
    /** Headers the answer must carry, such as WWW-Authenticate on a 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function isHttpError(value: unknown): value is HttpError {
  return value instanceof HttpError;
}
