// The targets set in the project's issues, checked against one results file. Medians are judged;
// a missing measurement is "not measured", never "met".

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);

const fmt = (v, unit, digits = 1) =>
  v == null || !Number.isFinite(v) ? "n/a" : `${v >= 1000 ? Math.round(v).toLocaleString("en-US") : v.toFixed(digits)}${unit}`;
const fmtRatio = (v) => (v == null || !Number.isFinite(v) ? "n/a" : v >= 0.1 ? `${v.toFixed(2)}×` : `1/${Math.round(1 / v)}`);

/** Each target: issue, text, the measured value as text, and met (true/false/null when not measured). */
export function checkTargets(results) {
  const b = results.benchmarks ?? {};
  const out = [];
  const add = (issue, target, value, shown, met) =>
    out.push({ issue, target, value: shown, met: value == null || !Number.isFinite(value) ? null : met(value) });

  const ii = b["import-init"];
  const ratioTotal = (peer) => get(ii, `ratios.${peer}.totalMs`);
  add("#7", "import + initialize ≤ 1/4 of @backtrace/node", ratioTotal("@backtrace/node"), fmtRatio(ratioTotal("@backtrace/node")), (v) => v <= 0.25);
  add("#7", "import + initialize ≤ 1/20 of @sentry/node", ratioTotal("@sentry/node"), fmtRatio(ratioTotal("@sentry/node")), (v) => v <= 0.05);

  const cs = b["capture-sync"];
  const capRatio = get(cs, "ratios.plain.@sentry/node.captureMedianUs");
  add("#7", "synchronous capture median ≤ 1/4 of @sentry/node's", capRatio, fmtRatio(capRatio), (v) => v <= 0.25);
  const p99 = get(cs, "results.plain.backtrace-ts.captureP99Us.median");
  add("#7", "synchronous capture p99 < 100 µs", p99, fmt(p99, " µs"), (v) => v < 100);
  const p99m = get(cs, "results.mapped.backtrace-ts.captureP99Us.median");
  add("#7", "synchronous capture p99 < 100 µs (source-mapped fixture)", p99m, fmt(p99m, " µs"), (v) => v < 100);

  const bu = get(b, "burst.clients.backtrace-ts");
  const lost = get(bu, "lost.max");
  add("#4", "burst of 5,000: 0 lost (in every run)", lost, lost == null ? "n/a" : `${lost} lost at most`, (v) => v === 0);
  const timeRatio = get(b, "burst.ratios.@backtrace/node.timeToLastMs");
  add("#4", "burst: all delivered in ≤ 1/3 of @backtrace/node's time", timeRatio, fmtRatio(timeRatio), (v) => v <= 1 / 3);
  const conns = get(bu, "connections.max");
  add("#4", "burst: ≤ 8 TCP connections (in every run)", conns, conns == null ? "n/a" : `${conns} at most`, (v) => v <= 8);
  const heap = get(bu, "heapGrowthMB.median");
  add("#4", "burst: heap growth ≤ 45 MB", heap, fmt(heap, " MB"), (v) => v <= 45);
  // Judged on the client's own work, from the end of the application's loop of captures to the flush; the whole
  // window's p99 beside it (with few samples after a short burst, it is the loop's own stall).
  const eld = get(bu, "afterLoopDelayP99Ms.median");
  const whole = get(bu, "loopDelayP99Ms.median");
  add("#4", "burst: event-loop delay p99 ≤ 20 ms (after the loop of captures)", eld, `${fmt(eld, " ms")} (the loop included: ${fmt(whole, " ms")})`, (v) => v <= 20);

  const size = get(b, "install-size.ratios.@backtrace/node.diskMB");
  add("#7", "installed size ≤ 1/10 of @backtrace/node", size, fmtRatio(size), (v) => v <= 0.1);

  const reg = get(b, "register.byCase");
  const added = (name) => reg?.[name]?.addedMs;
  add("#15", "`--require backtrace-ts/register` adds ≤ 2 ms to `node -e 0`", added("--require register"), fmt(added("--require register"), " ms"), (v) => v <= 2);
  add(
    "#15",
    "`--import backtrace-ts/register` adds ≤ 2 ms to `node -e 0`",
    added("--import register"),
    `${fmt(added("--import register"), " ms")} (an empty \`--import\` alone: ${fmt(added("--import empty.mjs"), " ms")})`,
    (v) => v <= 2,
  );
  const subpaths = reg ? Object.keys(reg).filter((name) => /^--import (express|fastify|koa|http|lambda)$/.test(name)) : [];
  const heaviest = subpaths.length ? Math.max(...subpaths.map((name) => reg[name].overEmptyPreloadMs)) : undefined;
  add("#15", "integration subpaths load nothing until used (each ≤ 1 ms over an empty `--import`)", heaviest, `${fmt(heaviest, " ms")} at most`, (v) => v <= 1);

  const sv = b.service;
  const share = (key) => {
    // Paired rounds (service.bench.mjs): the median of the rounds' ratios; an older result: the two cells' req/s.
    const paired = get(sv, `throughput.${key}.backtrace-ts.ratio`);
    if (typeof paired === "number") return paired;
    const none = get(sv, `throughput.${key}.none.rps`);
    const ours = get(sv, `throughput.${key}.backtrace-ts.rps`);
    return none && ours ? ours / none : undefined;
  };
  for (const [key, goal] of [["1%", 0.95], ["10%", 0.8], ["50%", 0.7]]) {
    add("#18", `live service at ${key} errors: throughput ≥ ${goal}× of no client`, share(key), fmtRatio(share(key)), (v) => v >= goal);
  }
  const storm = get(sv, "throughput.50%.backtrace-ts");
  const accountedShare = storm && storm.thrown ? storm.accounted / storm.thrown : undefined;
  add("#18", "live service at 50 % errors: 100 % of occurrences accounted for", accountedShare, storm ? `${storm.accounted.toLocaleString("en-US")} of ${storm.thrown.toLocaleString("en-US")}` : "n/a", (v) => v >= 1);
  const perReport = get(sv, "burst.cpuUsPerReport");
  const bare = get(sv, "floors.bare socket");
  const overBare = perReport && bare ? perReport / bare : undefined;
  const compiled = get(sv, "burst.compiledCpuUsPerReport");
  const compiledText = compiled && bare ? `; code compiled: ${(compiled / bare).toFixed(2)}× (${fmt(compiled, " µs")})` : "";
  add("#18", "burst of 5,000: CPU per report ≤ 1.5× the bare-socket floor", overBare, overBare == null ? "n/a" : `${overBare.toFixed(2)}× (${fmt(perReport, " µs")})${compiledText}`, (v) => v <= 1.5);

  const sw = b["stall-watchdog"];
  const idle = get(sw, "watchdogCpuMs.median");
  const floor = get(sw, "floorCpuMs.median");
  add(
    "#17",
    `stall watchdog: idle process CPU over ${sw?.seconds ?? 30} s < 5 ms (\`stallThreshold: ${sw?.stallThreshold ?? 1}\`)`,
    idle,
    `${fmt(idle, " ms")} (a bare thread waking once per threshold: ${fmt(floor, " ms")})`,
    (v) => v < 5,
  );

  const sm = get(b, "source-map.results.warmMedianUs.median");
  const smP99 = get(b, "source-map.results.warmP99Us.median");
  add("#5", "source-mapped 10-frame resolution well under 1 ms after the first report", smP99, `${fmt(sm, " µs")} median, ${fmt(smP99, " µs")} p99`, (v) => v < 1000);

  const ingest = get(b, "receiver.ingest.reportsPerSecond.median");
  add("#6", "receiver ingest ≥ 2,000 reports/s of ~10 KB", ingest, fmt(ingest, " reports/s", 0), (v) => v >= 2000);
  const gl = get(b, "receiver.groupList");
  const worst = gl ? Math.max(gl.page?.p99Ms ?? NaN, gl.apiGroups?.p99Ms ?? NaN) : undefined;
  add(
    "#6",
    `group list < 200 ms with 100,000 stored reports${gl && gl.stored !== 100000 ? ` (${gl.stored} stored)` : ""}`,
    gl && gl.stored >= 100000 ? worst : undefined,
    gl ? `GET / ${fmt(gl.page?.p99Ms, " ms")}, /api/groups ${fmt(gl.apiGroups?.p99Ms, " ms")} (p99)` : "n/a",
    (v) => v < 200,
  );
  const stored = gl && gl.stored >= 100000;
  add(
    "#16",
    "group list with a search and a filter < 200 ms with 100,000 stored reports",
    stored ? gl.searchPage?.p99Ms : undefined,
    gl?.searchPage ? `${fmt(gl.searchPage.medianMs, " ms")} median, ${fmt(gl.searchPage.p99Ms, " ms")} p99` : "n/a",
    (v) => v < 200,
  );
  add(
    "#16",
    "group page with its chart < 200 ms with 100,000 stored reports",
    stored ? gl.groupPage?.p99Ms : undefined,
    gl?.groupPage ? `${fmt(gl.groupPage.medianMs, " ms")} median, ${fmt(gl.groupPage.p99Ms, " ms")} p99` : "n/a",
    (v) => v < 200,
  );
  return out;
}

export function metText(met) {
  return met === true ? "met" : met === false ? "missed" : "not measured";
}
