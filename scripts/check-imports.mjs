// Checks the import graph of each package's src/: no cycles, and in the client the folder order of the data flow,
// with at most MAX_DEPTH levels from index.ts down. `--root DIR` checks one client-shaped tree (for the script's own test).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * The client's folders, top to bottom: a file imports from its own folder, from folders below it, and from
 * root leaves (root files other than the entry points). Root leaves import only root leaves.
 */
export const FOLDER_ORDER = ["integrations", "process", "assemble", "enrich", "capture", "serialize", "deliver", "transport", "spool"];
/** Root files that may import anything: the entry points. */
const ENTRIES = new Set(["index.ts", "client.ts"]);
/** Nodes (a folder or a root file) on the longest import path from index.ts. */
export const MAX_DEPTH = 6;

const importPattern = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*["'](\.[^"']+)["']|import\(\s*["'](\.[^"']+)["']\s*\)/g;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith(".ts") && !path.endsWith(".d.ts") ? [path] : [];
  });
}

function edges(file) {
  const text = readFileSync(file, "utf8");
  const out = [];
  for (const match of text.matchAll(importPattern)) {
    const spec = match[1] ?? match[2];
    out.push(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
  }
  return out;
}

function cycles(root, graph) {
  const problems = [];
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        problems.push(`import cycle: ${stack.slice(stack.indexOf(next)).concat(next).map((f) => relative(root, f)).join(" -> ")}`);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return problems;
}

/** The node a file belongs to: its folder under root, or the root file itself. */
function nodeOf(root, file) {
  const rel = relative(root, file).split(sep);
  return rel.length > 1 ? `${rel[0]}/` : rel[0];
}

function orderProblems(root, graph) {
  const problems = [];
  for (const [file, targets] of graph) {
    const from = nodeOf(root, file);
    for (const target of targets) {
      const to = nodeOf(root, target);
      if (from === to) continue;
      const rel = `${relative(root, file)} imports ${relative(root, target)}`;
      if (ENTRIES.has(to) && from !== "index.ts") problems.push(`${rel}: only index.ts imports an entry point`);
      else if (!from.endsWith("/")) {
        if (!ENTRIES.has(from) && to.endsWith("/")) problems.push(`${rel}: a root leaf imports only root leaves`);
      } else if (to.endsWith("/")) {
        const a = FOLDER_ORDER.indexOf(from.slice(0, -1));
        const b = FOLDER_ORDER.indexOf(to.slice(0, -1));
        if (a === -1) problems.push(`${relative(root, file)}: folder ${from} is not in the folder order`);
        else if (b === -1) problems.push(`${rel}: folder ${to} is not in the folder order`);
        else if (b < a) problems.push(`${rel}: ${from} may not import ${to}, which is above it in the folder order`);
      }
    }
  }
  return problems;
}

/**
 * Longest path from index.ts, counting each folder and each root file as one node. Only files index.ts loads
 * count: a worker thread's entry (bundled on its own into a string, imported by no file) is not on any path.
 */
function depth(root, graph) {
  const reached = new Set();
  const reach = (file) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const next of graph.get(file) ?? []) reach(next);
  };
  reach(resolve(root, "index.ts"));
  const nodes = new Map();
  for (const [file, targets] of graph) {
    if (!reached.has(file)) continue;
    const from = nodeOf(root, file);
    const set = nodes.get(from) ?? new Set();
    for (const target of targets) if (nodeOf(root, target) !== from) set.add(nodeOf(root, target));
    nodes.set(from, set);
  }
  const memo = new Map();
  const longest = (node, seen) => {
    if (memo.has(node)) return memo.get(node);
    if (seen.has(node)) return [node]; // a cycle between nodes is reported by the order check
    seen.add(node);
    let best = [];
    for (const next of nodes.get(node) ?? []) {
      const path = longest(next, seen);
      if (path.length > best.length) best = path;
    }
    seen.delete(node);
    const path = [node, ...best];
    memo.set(node, path);
    return path;
  };
  return nodes.has("index.ts") ? longest("index.ts", new Set()) : [];
}

export function checkTree(root, { ordered }) {
  const list = files(root).map((f) => resolve(f));
  const graph = new Map(list.map((f) => [f, edges(f).filter((t) => list.includes(t))]));
  const problems = cycles(root, graph);
  if (!ordered) return { problems, path: [] };
  problems.push(...orderProblems(root, graph));
  const path = depth(root, graph);
  if (path.length > MAX_DEPTH) problems.push(`import depth ${path.length} > ${MAX_DEPTH}: ${path.join(" -> ")}`);
  return { problems, path };
}

const at = process.argv.indexOf("--root");
const trees = at === -1
  ? [{ root: "packages/client/src", ordered: true }, { root: "packages/receiver/src", ordered: false }]
  : [{ root: process.argv[at + 1], ordered: true }];
let failed = false;
for (const { root, ordered } of trees) {
  const { problems, path } = checkTree(resolve(root), { ordered });
  for (const problem of problems) console.error(`${root}: ${problem}`);
  if (problems.length > 0) failed = true;
  else console.log(`${root}: imports one-way${ordered ? `, folder order kept, depth ${path.length} (${path.join(" -> ")})` : ""}`);
}
if (failed) process.exit(1);
