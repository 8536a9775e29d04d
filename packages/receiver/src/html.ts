// HTML building: the one escape function, an `html` template tag that escapes every value, and the page layout.

/** Escapes text for HTML element content and quoted attribute values. Every report string goes through here. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Markup that is already safe; only `html` and `trusted` make one. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/** Template tag: the literal parts are markup, every interpolated value is escaped unless it is already `SafeHtml`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? "");
  });
  return new SafeHtml(out);
}

/** For constant markup written in this package (never for report data). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** "2024-05-01 12:30:05 UTC" */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** A URL path plus query built from parts; values are percent-encoded (and later escaped by `html`). */
export function href(path: string, query: Record<string, string | string[] | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) params.append(key, item);
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

const stylesheet = `
:root { color-scheme: light; --fg: #1d2430; --muted: #5f6b7a; --line: #e3e7ee; --accent: #2656c9; --bg: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { background: #1f2a3c; color: #fff; padding: 10px 24px; display: flex; gap: 16px; align-items: baseline; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top span { color: #b8c4d6; font-size: 13px; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 20px; margin: 4px 0 12px; word-break: break-word; }
h2 { font-size: 16px; margin: 28px 0 8px; }
a { color: var(--accent); }
.banner { background: #fff4d6; border: 1px solid #f0d48a; color: #6b4e00; padding: 8px 12px; border-radius: 6px; margin-bottom: 16px; }
.flags { background: #fdecec; border: 1px solid #f3b6b6; color: #8a1f1f; padding: 8px 12px; border-radius: 6px; margin: 8px 0 16px; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-word; }
th { background: #eef2f8; font-weight: 600; font-size: 13px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.raw { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto; max-height: 480px; }
form.filters { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0 16px; }
form.filters input { padding: 5px 8px; border: 1px solid #c9d1dd; border-radius: 4px; min-width: 240px; }
form.filters button { padding: 5px 12px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
.chip { display: inline-block; background: #e7eefc; border-radius: 10px; padding: 0 8px; margin-right: 4px; font-size: 12px; }
ol.stack { list-style: none; padding: 0; margin: 0; }
ol.stack > li { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 8px; overflow: hidden; }
.frame-head { padding: 6px 10px; }
.frame-head .fn { font-weight: 600; }
.source { margin: 0; border-top: 1px solid var(--line); background: #fbfcfe; overflow-x: auto; }
.source .ln { display: block; white-space: pre; padding: 0 10px; }
.source .ln .no { display: inline-block; width: 4em; color: #98a2b3; user-select: none; }
.source .ln.hl { background: #fff0b3; font-weight: 600; }
details { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; margin: 4px 0; }
details details { border: none; border-left: 2px solid var(--line); border-radius: 0; padding: 0 0 0 10px; }
summary { cursor: pointer; }
.tree .key { font-weight: 600; }
ul.log { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px 8px 28px; margin: 0; }
.pager { margin: 12px 0; display: flex; gap: 12px; }
`;

export interface LayoutOptions {
  title: string;
  /** True when any token is accepted: the page says so. */
  anyToken: boolean;
  content: SafeHtml;
}

export function layout({ title, anyToken, content }: LayoutOptions): string {
  const banner = anyToken
    ? html`<div class="banner" role="status">Any token is accepted: this receiver was started without <code>--token</code>.</div>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · backtrace-ts-receiver</title>
<style>${trusted(stylesheet)}</style>
</head>
<body>
<header class="top"><a href="/">backtrace-ts-receiver</a><span>local Backtrace-compatible receiver</span></header>
<main>${banner}${content}</main>
</body>
</html>`.value;
}
