// Builds the client: one CommonJS bundle with its dependencies inside, a thin ES module over it
// (so `import` and `require` share one instance and one default client), and type declarations.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";

const require = createRequire(import.meta.url);
rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: ["src/index.ts"],
  outfile: "dist/index.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  legalComments: "none",
  logLevel: "warning",
});

const names = Object.keys(require("../dist/index.cjs")).filter((name) => name !== "default");
writeFileSync(
  "dist/index.mjs",
  "// ES module entry: re-exports the CommonJS build, so both module systems share one instance.\n" +
    'import lib from "./index.cjs";\n\n' +
    `export const { ${names.join(", ")} } = lib;\n`,
);

const tsc = require.resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.types.json"], { stdio: "inherit" });
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
