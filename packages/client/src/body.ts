// The wire shape of a Backtrace JSON report body (format=json), as the client sends it.

/** A value an attribute may hold on the wire. */
export type AttributeValue = string | number | boolean;

export type Attributes = Record<string, AttributeValue>;

/** One stack frame on the wire. `line` and `column` are 1-based. */
export interface WireFrame {
  funcName: string;
  line?: number;
  column?: number;
  library?: string;
  /** Id of an entry in the body's `sourceCode` map (may dangle when the file could not be read). */
  sourceCode?: string;
  /** Extra, tolerated by the schema: marks frames the viewer should show as not the user's code. */
  native?: boolean;
  internal?: boolean;
}

export interface WireThread {
  name: string;
  fault: boolean;
  stack: WireFrame[];
}

export interface SourceCodeEntry {
  text: string;
  startLine: number;
  startColumn: number;
  path: string;
  tabWidth: number;
}

export interface ReportBody {
  uuid: string;
  timestamp: number;
  lang: "nodejs";
  langVersion: string;
  agent: string;
  agentVersion: string;
  threads: Record<string, WireThread>;
  mainThread: string;
  classifiers: string[];
  attributes: Attributes;
  annotations: Record<string, unknown>;
  sourceCode: Record<string, SourceCodeEntry>;
  symbolication?: "sourcemap";
}
