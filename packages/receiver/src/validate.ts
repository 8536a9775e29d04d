// Checks a report body against the Backtrace JSON schema and the cross-field rules the schema cannot express.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
// ajv ships CommonJS; loading it through require keeps its default-export shape the same under ESM and tsx.
const Ajv2020 = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js").default;

export interface ValidationResult {
  /** True when the body is a valid report (after tolerated deviations were noted). */
  valid: boolean;
  /** Why the body was rejected, one line per problem; empty when valid. */
  errors: string[];
  /** Deviations accepted but worth showing, such as null attribute values sent by official clients. */
  flags: string[];
}

export interface ValidateOptions {
  /** Accept attribute values that are null (official clients send them) and report them in `flags`. */
  tolerateNullAttributes?: boolean;
}

const schemaPath = require.resolve("../schema/backtrace-report.schema.json");
/** The JSON schema of a report body, as shipped with this package. */
export const reportSchema: Record<string, unknown> = JSON.parse(readFileSync(schemaPath, "utf8"));

const ajv = new Ajv2020({ allErrors: true, strict: false });
const schemaCheck = ajv.compile(reportSchema);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Rules JSON Schema cannot express: thread keys and declared registers. */
export function crossFieldErrors(body: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const threads = isObject(body["threads"]) ? body["threads"] : {};
  for (const key of ["mainThread", "entryThread"] as const) {
    const value = body[key];
    if (typeof value === "string" && !Object.hasOwn(threads, value)) {
      errors.push(`${key} "${value}" is not a key of threads`);
    }
  }
  const arch = isObject(body["arch"]) ? body["arch"] : undefined;
  const declared = arch && isObject(arch["registers"]) ? arch["registers"] : undefined;
  for (const [threadId, thread] of Object.entries(threads)) {
    const stack = isObject(thread) && Array.isArray(thread["stack"]) ? thread["stack"] : [];
    stack.forEach((frame: unknown, index: number) => {
      if (!isObject(frame) || !isObject(frame["registers"])) return;
      if (!declared) {
        errors.push(`threads.${threadId}.stack[${index}] has registers but arch.registers is missing`);
        return;
      }
      for (const name of Object.keys(frame["registers"])) {
        if (!Object.hasOwn(declared, name)) {
          errors.push(`threads.${threadId}.stack[${index}] register "${name}" is not declared in arch.registers`);
        }
      }
    });
  }
  return errors;
}

/** Validates one parsed report body. Does not mutate it. */
export function validateReport(body: unknown, options: ValidateOptions = {}): ValidationResult {
  const flags: string[] = [];
  let candidate = body;
  if (options.tolerateNullAttributes && isObject(body) && isObject(body["attributes"])) {
    const attributes = { ...body["attributes"] };
    for (const [key, value] of Object.entries(attributes)) {
      if (value === null) {
        flags.push(`attribute "${key}" is null`);
        delete attributes[key];
      }
    }
    if (flags.length > 0) candidate = { ...body, attributes };
  }
  const errors: string[] = [];
  if (!schemaCheck(candidate)) {
    for (const error of schemaCheck.errors ?? []) {
      errors.push(`${error.instancePath || "(body)"} ${error.message ?? "is invalid"}`);
    }
  }
  if (isObject(candidate)) errors.push(...crossFieldErrors(candidate));
  return { valid: errors.length === 0, errors, flags };
}
