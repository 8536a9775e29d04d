// Public names of backtrace-ts.
export { AGENT, VERSION } from "./version.js";
export type { ReportBody, WireFrame, WireThread, SourceCodeEntry, Attributes, AttributeValue } from "./body.js";
