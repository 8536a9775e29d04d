// Inline SVG charts drawn from counts: the sparkline of a group row and the occurrence chart of a group page.
import { formatTime, html, type SafeHtml } from "./html.js";

/** Time windows a chart may span; the smallest that holds what is shown is used, split into `bucketCount` buckets. */
const windows = [
  { ms: 60 * 60 * 1000, label: "last hour" },
  { ms: 6 * 60 * 60 * 1000, label: "last 6 hours" },
  { ms: 24 * 60 * 60 * 1000, label: "last 24 hours" },
  { ms: 7 * 24 * 60 * 60 * 1000, label: "last 7 days" },
  { ms: 30 * 24 * 60 * 60 * 1000, label: "last 30 days" },
  { ms: 365 * 24 * 60 * 60 * 1000, label: "last 365 days" },
];
export const bucketCount = 24;

export interface ChartWindow {
  from: number;
  width: number;
  buckets: number;
  label: string;
}

/** The window ending now that reaches back to `oldest` (capped at a year). */
export function chartWindow(oldest: number, now: number): ChartWindow {
  const span = Math.max(0, now - oldest);
  const chosen = windows.find((w) => w.ms >= span) ?? windows[windows.length - 1]!;
  const width = Math.ceil(chosen.ms / bucketCount);
  // Buckets end just after now, so the report that just arrived lands in the last one.
  return { from: now + 1 - width * bucketCount, width, buckets: bucketCount, label: chosen.label };
}

/** A bar per bucket, scaled to the largest; `data-counts` carries the numbers for tests and tools. */
export function sparkline(counts: number[], label: string): SafeHtml {
  const max = Math.max(1, ...counts);
  const w = 96;
  const h = 24;
  const step = w / Math.max(1, counts.length);
  const bars = counts.map((n, i) => {
    const bh = n === 0 ? 0 : Math.max(2, (n / max) * h);
    return html`<rect x="${(i * step).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${Math.max(1, step - 1).toFixed(1)}" height="${bh.toFixed(1)}"></rect>`;
  });
  return html`<svg class="spark" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${label}" data-counts="${counts.join(",")}"><title>${label}</title><line x1="0" y1="${h - 0.5}" x2="${w}" y2="${h - 0.5}"></line>${bars}</svg>`;
}

/** The group page's chart: bars with the largest count and the window's ends written out. */
export function occurrenceChart(counts: number[], window: ChartWindow): SafeHtml {
  const max = Math.max(1, ...counts);
  const w = 600;
  const h = 120;
  const step = w / counts.length;
  const bars = counts.map((n, i) => {
    const bh = n === 0 ? 0 : Math.max(2, (n / max) * (h - 4));
    const start = window.from + i * window.width;
    return html`<rect x="${(i * step + 1).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${(step - 2).toFixed(1)}" height="${bh.toFixed(1)}"><title>${`${n} from ${formatTime(start)}`}</title></rect>`;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return html`<figure class="chart"><svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${`${total} occurrences in the ${window.label}`}" data-counts="${counts.join(",")}">${bars}<line x1="0" y1="${h - 0.5}" x2="${w}" y2="${h - 0.5}"></line></svg>
<figcaption><span>${formatTime(window.from)}</span><span>${total} occurrences in the ${window.label} · peak ${max === 1 && total === 0 ? 0 : max}</span><span>now</span></figcaption></figure>`;
}
