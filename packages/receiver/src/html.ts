// HTML building: the one escape function, an `html` template tag that escapes every value, and the page layout.
import { stylesheet } from "./styles.js";

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


export interface LayoutOptions {
  title: string;
  /** True when any token is accepted: the page says so. */
  anyToken: boolean;
  content: SafeHtml;
  /** The page refreshes its `#live` element when reports arrive (the one script, from /assets/live.js). */
  live?: boolean;
}

export function layout({ title, anyToken, content, live = false }: LayoutOptions): string {
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
<header class="top"><a href="/">backtrace-ts-receiver</a><span class="tagline">local Backtrace-compatible receiver</span>${live ? html`<span id="live-status" class="live">static</span>` : ""}</header>
<main>${banner}${content}</main>
${live ? html`<script src="/assets/live.js" defer></script>` : ""}
</body>
</html>`.value;
}
