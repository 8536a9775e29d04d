// Printing and saving benchmark results.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { formatNumber } from "./stats.mjs";

/** "median (min–max)" for a { median, min, max } summary. */
export function mmm(summary, digits = 1) {
  if (!summary || summary.median == null) return "n/a";
  if (summary.n <= 1) return formatNumber(summary.median, digits);
  return `${formatNumber(summary.median, digits)} (${formatNumber(summary.min, digits)}–${formatNumber(summary.max, digits)})`;
}

export function printTable(title, header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
}

export function writeJson(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
}

/** Writes the result to --json PATH when given; always returns it. */
export function emit(args, result) {
  if (typeof args.json === "string") writeJson(args.json, result);
  return result;
}
