// Public names of backtrace-ts-receiver.
export { startReceiver } from "./server.js";
export type { RunningReceiver } from "./server.js";
export type { ReceiverOptions } from "./options.js";
export { ReceiverError, isReceiverError } from "./errors.js";
export type { ReceiverErrorCode } from "./errors.js";
export { validateReport, crossFieldErrors, reportSchema } from "./validate.js";
export type { ValidationResult, ValidateOptions } from "./validate.js";
