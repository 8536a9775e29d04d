// Fails when the import graph of a package's src/ has a cycle (imports must point one way).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const roots = ["packages/client/src", "packages/receiver/src"];
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

let failed = false;
for (const root of roots) {
  let list;
  try {
    list = files(root).map((f) => resolve(f));
  } catch {
    continue;
  }
  const graph = new Map(list.map((f) => [f, edges(f).filter((t) => list.includes(t))]));
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        const cycle = stack.slice(stack.indexOf(next)).concat(next).map((f) => relative(root, f));
        console.error(`import cycle in ${root}: ${cycle.join(" -> ")}`);
        failed = true;
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of list) if (!state.has(node)) visit(node);
}
if (failed) process.exit(1);
console.log("imports: no cycles");
