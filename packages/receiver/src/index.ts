// Public names of backtrace-ts-receiver.
export { validateReport, crossFieldErrors, reportSchema } from "./validate.js";
export type { ValidationResult, ValidateOptions } from "./validate.js";
