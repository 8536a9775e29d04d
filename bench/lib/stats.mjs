// Small statistics helpers shared by the benchmark scripts.

/** Sorted copy of numbers, ascending. */
export function sorted(values) {
  return Float64Array.from(values).sort();
}

/** Percentile by nearest rank (p in 0..100) of a list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** { median, min, max, n } of the per-run values of one metric. */
export function summarize(values) {
  const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (finite.length === 0) return { median: null, min: null, max: null, n: 0 };
  return {
    median: median(finite),
    min: Math.min(...finite),
    max: Math.max(...finite),
    n: finite.length,
  };
}

/** Summarize every numeric field across a list of run objects with the same shape. */
export function summarizeRuns(runs) {
  const keys = new Set();
  for (const run of runs) for (const [k, v] of Object.entries(run)) if (typeof v === "number") keys.add(k);
  const out = {};
  for (const k of keys) out[k] = summarize(runs.map((r) => r[k]));
  return out;
}

/** Ratio of two medians, or null when either is missing or the divisor is 0. */
export function ratio(ours, peer) {
  if (ours == null || peer == null || peer === 0) return null;
  return ours / peer;
}

/** Samples keyed "<fixture>:<client>" summarized as results[fixture][client]. */
export function summarizeByFixture(samples, fixtures, clients) {
  return Object.fromEntries(
    fixtures.map((fixture) => [fixture, Object.fromEntries(clients.map((c) => [c, summarizeRuns(samples[`${fixture}:${c}`] ?? [])]))]),
  );
}

/** For each peer in `byClient`, the ratio of `ours`'s median to the peer's, key by key. */
export function peerRatios(byClient, ours, peers, keys) {
  const ratios = {};
  if (!byClient[ours]) return ratios;
  for (const peer of peers) {
    if (!byClient[peer]) continue;
    ratios[peer] = Object.fromEntries(keys.map((k) => [k, ratio(byClient[ours][k]?.median, byClient[peer][k]?.median)]));
  }
  return ratios;
}

export function formatNumber(value, digits = 1) {
  if (value == null || !Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(digits);
}
