// The viewer's one stylesheet: colours as variables with a dark set from prefers-color-scheme, and a narrow-screen layout (leaf).

export const stylesheet = `
:root { color-scheme: light dark; --fg: #1d2430; --muted: #5f6b7a; --line: #e3e7ee; --accent: #2656c9; --bg: #f6f8fb; --panel: #fff;
  --head: #eef2f8; --code-bg: #fbfcfe; --hl: #fff0b3; --chip: #e7eefc; --bar: #2656c9; --bar-soft: #c9d7f5; --top: #1f2a3c;
  --banner-bg: #fff4d6; --banner-line: #f0d48a; --banner-fg: #6b4e00; --flag-bg: #fdecec; --flag-line: #f3b6b6; --flag-fg: #8a1f1f; --app: #2656c9; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #dde3ec; --muted: #98a4b5; --line: #2c3542; --accent: #7ea6ff; --bg: #11161d; --panel: #181f29; --head: #1f2834;
    --code-bg: #141a22; --hl: #4a3f12; --chip: #24324a; --bar: #7ea6ff; --bar-soft: #2f4468; --top: #0b0f14;
    --banner-bg: #3a2f0c; --banner-line: #6b5715; --banner-fg: #f2d78a; --flag-bg: #3d1717; --flag-line: #6e2a2a; --flag-fg: #f5b5b5; --app: #7ea6ff; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); overflow-wrap: anywhere; }
header.top { background: var(--top); color: #fff; padding: 10px 24px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top .tagline { color: #b8c4d6; font-size: 13px; }
.live { margin-left: auto; font-size: 12px; color: #b8c4d6; }
.live.on::before { content: "● "; color: #3ccf7a; }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 20px; margin: 4px 0 12px; word-break: break-word; }
h2 { font-size: 16px; margin: 28px 0 8px; }
h3 { font-size: 13px; margin: 0 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
a { color: var(--accent); }
.banner { background: var(--banner-bg); border: 1px solid var(--banner-line); color: var(--banner-fg); padding: 8px 12px; border-radius: 6px; margin-bottom: 16px; }
.flags { background: var(--flag-bg); border: 1px solid var(--flag-line); color: var(--flag-fg); padding: 8px 12px; border-radius: 6px; margin: 8px 0 16px; }
.muted { color: var(--muted); }
.message { color: var(--fg); font-weight: 400; }
.classifier { font-weight: 600; }
table { border-collapse: collapse; width: 100%; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-word; }
th { background: var(--head); font-weight: 600; font-size: 13px; word-break: normal; white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.when { white-space: nowrap; font-size: 13px; }
td.when .label { display: none; }
code, pre { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.raw { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto; max-height: 480px; }
.multiline { white-space: pre-wrap; display: block; margin: 2px 0 0; }
form.filters { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0 12px; }
form.filters input { padding: 6px 8px; border: 1px solid var(--line); background: var(--panel); color: var(--fg); border-radius: 4px; flex: 1 1 220px; min-width: 0; }
form.filters button { padding: 6px 14px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 0 0 12px; }
.chip { display: inline-flex; gap: 6px; align-items: center; background: var(--chip); border-radius: 12px; padding: 1px 4px 1px 10px; font-size: 12px; }
.chip .remove { text-decoration: none; font-weight: 700; padding: 0 6px; }
.tag { display: inline-block; background: var(--chip); border-radius: 4px; padding: 0 6px; margin: 0 4px 2px 0; font-size: 12px; white-space: nowrap; }
.tabs { display: flex; gap: 4px; align-items: baseline; flex-wrap: wrap; border-bottom: 1px solid var(--line); margin-bottom: 10px; }
.tab { padding: 6px 12px; text-decoration: none; border-bottom: 2px solid transparent; }
.tab.active { border-bottom-color: var(--accent); font-weight: 600; }
.badge { background: var(--chip); border-radius: 8px; padding: 0 6px; font-size: 12px; }
.sort { margin-left: auto; font-size: 13px; }
svg.spark rect, .chart rect { fill: var(--bar); }
svg.spark line, .chart line { stroke: var(--line); }
.spark-cell { width: 110px; }
.chart { margin: 8px 0 16px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
.chart svg { width: 100%; height: 120px; display: block; }
.chart figcaption { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; color: var(--muted); flex-wrap: wrap; }
.facets { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; }
.facet { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.facet ul { list-style: none; margin: 0; padding: 0; }
.facet li a { position: relative; display: flex; justify-content: space-between; gap: 8px; text-decoration: none; color: var(--fg); padding: 1px 4px; font-size: 13px; }
.facet .bar { position: absolute; left: 0; top: 0; bottom: 0; background: var(--bar-soft); border-radius: 3px; z-index: 0; }
.facet .value, .facet .share { position: relative; z-index: 1; }
ol.stack { list-style: none; padding: 0; margin: 0; }
ol.stack li.frame { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; margin-bottom: 8px; overflow: hidden; }
ol.stack li.frame.app { border-left: 3px solid var(--app); }
ol.stack li.frame.lib .fn { font-weight: 400; color: var(--muted); }
details.lib-frames { margin: 0 0 8px; }
details.lib-frames > summary { color: var(--muted); font-size: 13px; }
.frame-head { padding: 6px 10px; display: flex; gap: 8px; flex-wrap: wrap; align-items: baseline; }
.frame-head .fn { font-weight: 600; }
.frame-head .anchor { color: var(--muted); text-decoration: none; font-size: 12px; }
.source { margin: 0; border-top: 1px solid var(--line); background: var(--code-bg); overflow-x: auto; }
.source .ln { display: block; white-space: pre; padding: 0 10px; }
.source .ln .no { display: inline-block; width: 4em; color: var(--muted); user-select: none; }
.source .ln.hl { background: var(--hl); font-weight: 600; }
details { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; margin: 4px 0; }
details details { border: none; border-left: 2px solid var(--line); border-radius: 0; padding: 0 0 0 10px; }
summary { cursor: pointer; }
.tree .key { font-weight: 600; }
ul.log { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px 8px 28px; margin: 0; }
ol.timeline { list-style: none; margin: 0; padding: 0 0 0 14px; border-left: 2px solid var(--line); }
ol.timeline li { position: relative; padding: 4px 0 8px 10px; }
ol.timeline li::before { content: ""; position: absolute; left: -21px; top: 10px; width: 10px; height: 10px; border-radius: 50%; background: var(--muted); }
ol.timeline li.level-warning::before { background: #d99a00; }
ol.timeline li.level-error::before { background: #d33; }
ol.timeline li.level-info::before { background: var(--accent); }
ol.timeline .when { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.pager { margin: 12px 0; display: flex; gap: 12px; flex-wrap: wrap; }
.panel-grid { display: grid; gap: 12px; }
@media (max-width: 700px) {
  header.top { padding: 8px 12px; }
  header.top .tagline { display: none; }
  main { padding: 12px 10px 32px; }
  table.groups, table.groups tbody, table.groups tr, table.groups td, table.reports, table.reports tbody, table.reports tr, table.reports td { display: block; width: 100%; }
  table.groups thead, table.reports thead { display: none; }
  table.groups tr, table.reports tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  table.groups td, table.reports td { border: none; padding: 2px 10px; }
  td.when { display: inline-block !important; width: auto !important; }
  td.when .label { display: inline; color: var(--muted); }
  .num.count { text-align: left; }
  .num.count::before { content: "count "; color: var(--muted); }
  .sort { margin-left: 0; width: 100%; }
  table.attributes td:first-child { width: 40%; }
  .source .ln { white-space: pre-wrap; }
}
`;
