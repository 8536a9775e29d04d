// Source code around a frame: picks the lines of a `sourceCode` entry near the frame's line, tabs expanded.
import { html, type SafeHtml } from "./html.js";
import { isRecord } from "./summary.js";

export interface SourceLine {
  number: number;
  text: string;
  /** The frame's own line. */
  current: boolean;
}

/** Lines shown above and below the frame's line. */
export const contextRadius = 5;
/** Used when an entry has no tabWidth (backtracepython sends 8). */
export const defaultTabWidth = 8;

/** Replaces each tab with spaces up to the next multiple of `tabWidth`. */
export function expandTabs(line: string, tabWidth: number): string {
  if (!line.includes("\t")) return line;
  const width = tabWidth > 0 ? tabWidth : defaultTabWidth;
  let out = "";
  for (const char of line) {
    if (char === "\t") out += " ".repeat(width - (out.length % width));
    else out += char;
  }
  return out;
}

function positiveInteger(value: unknown): number | undefined {
  const number = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === "number" && Number.isInteger(number) && number > 0 ? number : undefined;
}

/** The lines around `line` from a sourceCode entry; undefined when the entry has no text covering it. */
export function sourceExcerpt(entry: unknown, line: unknown, radius = contextRadius): SourceLine[] | undefined {
  if (!isRecord(entry) || typeof entry["text"] !== "string") return undefined;
  const target = positiveInteger(line);
  const startLine = positiveInteger(entry["startLine"]) ?? 1;
  if (target === undefined) return undefined;
  const lines = entry["text"].split(/\r?\n/);
  const index = target - startLine;
  if (index < 0 || index >= lines.length) return undefined;
  const tabWidth = positiveInteger(entry["tabWidth"]) ?? defaultTabWidth;
  const from = Math.max(0, index - radius);
  const to = Math.min(lines.length - 1, index + radius);
  const out: SourceLine[] = [];
  for (let i = from; i <= to; i++) {
    out.push({ number: startLine + i, text: expandTabs(lines[i] ?? "", tabWidth), current: i === index });
  }
  return out;
}

export function renderExcerpt(lines: SourceLine[]): SafeHtml {
  return html`<pre class="source">${lines.map(
    (line) =>
      html`<code class="${line.current ? "ln hl" : "ln"}"${line.current ? html` data-current-line="${line.number}"` : ""}><span class="no">${line.number}</span>${line.text}</code>`,
  )}</pre>`;
}
