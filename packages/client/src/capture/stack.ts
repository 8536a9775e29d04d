// Parses the stack text V8 prints into frames; pure, one pass over the lines.
import { isAbsolute as isPosixAbsolute, sep, win32 } from "node:path";
import { fileURLToPath } from "node:url";

export interface StackFrame {
  /** "anonymous" when V8 gives none; "new Foo", "async bar", "Foo.bar [as baz]" kept as V8 prints them. */
  funcName: string;
  /** A path (file:// URLs turned into paths), "node:internal/...", "<anonymous>", or undefined. */
  file?: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  column?: number;
  /** Built-in frames with no script: "native", "<anonymous>", "index 0". */
  native?: boolean;
  /** node: and internal/ frames. */
  internal?: boolean;
  async?: boolean;
  /** Code run by eval or new Function: file, line and column are where the eval was called. */
  eval?: boolean;
  /** Added by source-map.ts: the sourcesContent entry of the original file, when the map has one. */
  originalSource?: string;
  /** Added by source-map.ts: where the frame was before mapping. */
  generated?: { file: string; line: number; column: number };
}

const FRAME_LINE = /^\s+at (?:(async) )?(.*)$/;
const POSITION = /^(.*?):(\d+)(?::(\d+))?$/;
const EVAL_PREFIX = "eval at ";
const WINDOWS_FILE_URL = /^file:\/\/\/[A-Za-z]:\//;

/**
 * Frames of recently seen stack lines. Reports from one place repeat the same lines, so a burst of
 * them parses each line once. Cached frames are frozen: every report shares them, none may change them.
 */
const lineCache = new Map<string, Readonly<StackFrame> | null>();
const LINE_CACHE_SIZE = 2000;

/** Turns V8 stack text into frames. Lines that are not frames (the message, however many lines) are skipped. */
export function parseStack(stack: string): StackFrame[] {
  const frames: StackFrame[] = [];
  if (typeof stack !== "string") return frames;
  for (const text of stack.split("\n")) {
    let frame = lineCache.get(text);
    if (frame === undefined) {
      const match = FRAME_LINE.exec(text);
      frame = match === null ? null : (parseFrame(match[2]!.trimEnd(), match[1] !== undefined) ?? null);
      if (frame !== null) Object.freeze(frame);
      if (lineCache.size >= LINE_CACHE_SIZE) lineCache.clear();
      // Only lines that look like frames are worth keeping: messages rarely repeat.
      if (frame !== null) lineCache.set(text, frame);
    }
    if (frame !== null) frames.push(frame);
  }
  return frames;
}

function parseFrame(body: string, isAsync: boolean): StackFrame | undefined {
  if (body === "") return undefined;
  let name = "";
  let location = body;
  if (body.endsWith(")")) {
    const open = matchingOpenParen(body);
    if (open > 0 && body[open - 1] === " ") {
      name = body.slice(0, open - 1);
      location = body.slice(open + 1, -1);
    } else if (open === 0) {
      location = body.slice(1, -1);
    }
  }
  const frame: StackFrame = { funcName: "anonymous" };
  if (isAsync) frame.async = true;
  if (!applyLocation(frame, location)) {
    // No recognisable location: the whole text is a function name ("at foo").
    if (name === "") name = location;
  }
  if (name !== "" && name !== "<anonymous>") frame.funcName = isAsync ? `async ${name}` : name;
  return frame;
}

/** Index of the "(" that the final ")" closes, or -1. Paths may hold balanced parentheses. */
function matchingOpenParen(text: string): number {
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const ch = text.charCodeAt(i);
    if (ch === 41 /* ) */) depth++;
    else if (ch === 40 /* ( */ && --depth === 0) return i;
  }
  return -1;
}

/** Fills file/line/column/flags from a location; false when the text is not a location at all. */
function applyLocation(frame: StackFrame, location: string): boolean {
  if (location === "native") {
    frame.native = true;
    return true;
  }
  if (location === "<anonymous>" || location.startsWith("index ")) {
    frame.native = true;
    return true;
  }
  if (location.startsWith(EVAL_PREFIX)) {
    frame.eval = true;
    return applyEvalOrigin(frame, location);
  }
  const match = POSITION.exec(location);
  if (match === null) {
    if (location.startsWith("node:")) {
      frame.file = location;
      frame.internal = true;
      return true;
    }
    return false;
  }
  const file = toPath(match[1]!);
  frame.file = file;
  frame.line = Number(match[2]);
  if (match[3] !== undefined) frame.column = Number(match[3]);
  if (file.startsWith("node:") || file.startsWith("internal/")) frame.internal = true;
  return true;
}

/**
 * "eval at fn (ORIGIN), <anonymous>:3:4" where ORIGIN is a location or another "eval at ...".
 * The position inside the evaluated text has no file to show, so the frame reports the
 * innermost real location: the line that called eval (or new Function).
 */
function applyEvalOrigin(frame: StackFrame, location: string): boolean {
  let rest = location;
  while (rest.startsWith(EVAL_PREFIX)) {
    const close = matchingCloseParen(rest, rest.indexOf("("));
    if (close < 0) return false;
    rest = rest.slice(rest.indexOf("(") + 1, close);
  }
  const match = POSITION.exec(rest);
  if (match === null) return true;
  const file = toPath(match[1]!);
  frame.file = file;
  frame.line = Number(match[2]);
  if (match[3] !== undefined) frame.column = Number(match[3]);
  if (file.startsWith("node:")) frame.internal = true;
  return true;
}

function matchingCloseParen(text: string, open: number): number {
  if (open < 0) return -1;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 40) depth++;
    else if (ch === 41 && --depth === 0) return i;
  }
  return -1;
}

function toPath(file: string): string {
  if (!file.startsWith("file://")) return file;
  try {
    return WINDOWS_FILE_URL.test(file) ? fileURLToPath(file, { windows: true }) : fileURLToPath(file);
  } catch {
    return file;
  }
}

/** True when the frame's file is a real path on disk (not node:, native, eval text or a bare name). */
export function hasRealFile(frame: StackFrame): frame is StackFrame & { file: string } {
  const file = frame.file;
  if (file === undefined || frame.native === true || frame.internal === true) return false;
  return isPosixAbsolute(file) || win32.isAbsolute(file);
}

/** True when `frame.file` lies inside `dir` (a directory path). */
export function isFrameUnder(frame: StackFrame, dir: string): boolean {
  const file = frame.file;
  if (file === undefined || dir === "") return false;
  const prefix = dir.endsWith("/") || dir.endsWith("\\") ? dir : dir + sep;
  return file.startsWith(prefix);
}

/** The frames whose file is not inside `dir`; used to leave the library's own frames out of reports. */
export function dropFramesUnder(frames: readonly StackFrame[], dir: string): StackFrame[] {
  return frames.filter((frame) => !isFrameUnder(frame, dir));
}

// Node's module loader (CommonJS and ESM) and its entry: below the application's first frame they say only how the program started.
const LOADER_FILE = /^node:internal\/(?:modules|main)\//;

/** The frames without Node's loader frames that lie below (outside) the first application frame, and how many were dropped. */
export function dropLoaderFrames(frames: readonly StackFrame[]): { frames: StackFrame[]; dropped: number } {
  const firstApp = frames.findIndex((frame) => frame.internal !== true && frame.native !== true && frame.file !== undefined);
  if (firstApp < 0) return { frames: [...frames], dropped: 0 };
  const kept = frames.filter((frame, index) => index <= firstApp || frame.file === undefined || !LOADER_FILE.test(frame.file));
  return { frames: kept, dropped: frames.length - kept.length };
}
