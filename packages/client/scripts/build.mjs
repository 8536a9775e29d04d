// Builds the client: a CommonJS and an ES module bundle, each with its dependencies inside, and type declarations.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, posix } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);
rmSync("dist", { recursive: true, force: true });

// Two bundles, one per module system. A thin ES module over the CommonJS file would make `import`
// pay for Node's scan of the CommonJS source (about 15 ms). Minified, local names included, but
// functions and classes keep their names, so stacks through the library stay readable.
const common = {
  entryPoints: ["src/index.ts"],
  bundle: true,
  platform: "node",
  target: "node20",
  legalComments: "none",
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  keepNames: true,
  logLevel: "warning",
};
await build({ ...common, format: "cjs", outfile: "dist/index.cjs" });
await build({ ...common, format: "esm", outfile: "dist/index.mjs" });

const tsc = require.resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.types.json"], { stdio: "inherit" });
// tsc writes a declaration file for every source file; keep only those the entry point reaches.
const keep = new Set();
const visit = (file) => {
  if (keep.has(file)) return;
  keep.add(file);
  const text = readFileSync(join("dist/types", file), "utf8");
  for (const [, named, inline] of text.matchAll(/from "(\.\.?\/[\w/.-]+)\.js"|import\("(\.\.?\/[\w/.-]+)\.js"\)/g)) {
    visit(posix.join(posix.dirname(file), `${named ?? inline}.d.ts`));
  }
};
visit("index.d.ts");
const prune = (dir) => {
  for (const entry of readdirSync(join("dist/types", dir), { withFileTypes: true })) {
    const file = posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      prune(file);
      if (readdirSync(join("dist/types", file)).length === 0) rmSync(join("dist/types", file), { recursive: true });
    } else if (!keep.has(file)) rmSync(join("dist/types", file));
  }
};
prune(".");

// The declarations describe the CommonJS build; `import` gets them through an ES module shim.
writeFileSync("dist/types/package.json", JSON.stringify({ type: "commonjs" }) + "\n");
writeFileSync("dist/index.d.mts", 'export * from "./types/index.js";\n');

// The bundle includes these packages' code; their licenses travel with it.
const bundled = ["@jridgewell/trace-mapping", "@jridgewell/sourcemap-codec", "@jridgewell/resolve-uri"];
const notices = bundled.map((name) => {
  const dir = require.resolve(`${name}/package.json`).replace(/package\.json$/, "");
  const version = JSON.parse(readFileSync(`${dir}package.json`, "utf8")).version;
  return `## ${name} ${version}\n\n${readFileSync(`${dir}LICENSE`, "utf8").trim()}\n`;
});
mkdirSync("dist", { recursive: true });
writeFileSync("dist/THIRD-PARTY-NOTICES.md", `# Code bundled into backtrace-ts\n\n${notices.join("\n")}`);
