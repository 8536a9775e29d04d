// Trim step 1: source context narrowed around the frames' lines, then whole entries dropped, least used first.
import { allFrames, byteLength, isRecord, TRIM_PLAN, type Json, type Trim } from "./trim.js";

interface SourceInfo {
  id: string;
  entry: Json;
  lines: string[];
  startLine: number;
  frameLines: number[]; // indexes into lines
  rank: number; // position of the first frame using it; lower is more important
}

function sourceInfos(body: Json): SourceInfo[] {
  const sources = body["sourceCode"];
  if (!isRecord(sources)) return [];
  const byId = new Map<string, { lines: number[]; rank: number }>();
  allFrames(body).forEach((frame, index) => {
    const id = frame["sourceCode"];
    if (typeof id !== "string") return;
    const seen = byId.get(id) ?? { lines: [], rank: index };
    const line = Number(frame["line"]);
    if (Number.isInteger(line) && line >= 1) seen.lines.push(line);
    byId.set(id, seen);
  });
  const out: SourceInfo[] = [];
  for (const [id, entry] of Object.entries(sources)) {
    if (!isRecord(entry)) continue;
    const text = entry["text"];
    const startLine = Number(entry["startLine"]);
    const seen = byId.get(id);
    const lines = typeof text === "string" ? text.split("\n") : [];
    const start = Number.isInteger(startLine) && startLine >= 1 ? startLine : 1;
    const frameLines = (seen?.lines ?? []).map((l) => l - start).filter((i) => i >= 0 && i < lines.length);
    out.push({ id, entry, lines, startLine: start, frameLines, rank: seen?.rank ?? Infinity });
  }
  return out;
}

/** Keeps `radius` lines around each frame line; gaps between kept ranges collapse to one marker line. */
function narrowEntry(info: SourceInfo, radius: number): { text: string; startLine: number; kept: number } {
  const last = info.lines.length - 1;
  const centres = info.frameLines.length > 0 ? [...new Set(info.frameLines)].sort((a, b) => a - b) : [radius];
  const ranges: [number, number][] = [];
  for (const centre of centres) {
    const from = Math.max(0, centre - radius);
    const to = Math.min(last, centre + radius);
    const prev = ranges[ranges.length - 1];
    if (prev !== undefined && from <= prev[1] + 1) prev[1] = Math.max(prev[1], to);
    else ranges.push([from, to]);
  }
  const first = ranges[0]?.[0] ?? 0;
  const out: string[] = [];
  let kept = 0;
  let previousEnd = first - 1;
  for (const [from, to] of ranges) {
    // a gap keeps its line count so frame line numbers still point at the right lines
    for (let i = previousEnd + 1; i < from; i += 1) out.push(i === previousEnd + 1 ? `[${from - i} lines cut]` : "");
    for (let i = from; i <= to; i += 1) out.push(info.lines[i] as string);
    kept += to - from + 1;
    previousEnd = to;
  }
  return { text: out.join("\n"), startLine: info.startLine + first, kept };
}

/** Step 1a: shrink each source entry to fewer lines around its frames' lines. */
export function narrowSource(trim: Trim): boolean {
  const infos = sourceInfos(trim.body).filter((info) => info.lines.length > 1);
  const base = trim.record.sourceLines;
  let current = infos.map((info) => info.lines.length);
  const sourceBytes = (): number => byteLength(JSON.stringify(trim.body["sourceCode"]));
  let before = sourceBytes();
  for (const radius of TRIM_PLAN.sourceRadii) {
    let removed = 0;
    let changed = false;
    const next = infos.map((info, i) => {
      const narrowed = narrowEntry(info, radius);
      removed += info.lines.length - narrowed.kept;
      if (narrowed.kept < (current[i] as number)) {
        changed = true;
        info.entry["text"] = narrowed.text;
        info.entry["startLine"] = narrowed.startLine;
      }
      return Math.min(narrowed.kept, current[i] as number);
    });
    current = next;
    if (!changed) continue;
    trim.record.sourceLines = base + removed;
    // serializing only the source map tells whether a full measure can succeed
    const after = sourceBytes();
    trim.bytes += after - before;
    before = after;
    if (trim.bytes <= trim.budget && trim.measure()) return true;
  }
  return false;
}

/** Step 1b: drop source entries, the ones no frame or only deep frames use first. */
export function dropSource(trim: Trim): boolean {
  const sources = trim.body["sourceCode"];
  if (!isRecord(sources)) return false;
  const order = sourceInfos(trim.body)
    .map((info, index) => ({ id: info.id, rank: info.rank, index }))
    .sort((a, b) => b.rank - a.rank || b.index - a.index);
  let at = 0;
  while (at < order.length) {
    let freed = 0;
    const need = trim.need;
    while (at < order.length && freed < need) {
      const id = (order[at] as { id: string }).id;
      freed += byteLength(JSON.stringify(id)) + byteLength(JSON.stringify(sources[id]) ?? "") + 2;
      delete sources[id];
      trim.record.sourceEntries += 1;
      at += 1;
    }
    if (trim.measure()) return true;
  }
  return false;
}
