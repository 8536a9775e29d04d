// Builds a small TypeScript app in a temporary directory with the real tsc and esbuild, for source-map tests.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";

const require = createRequire(import.meta.url);

export const UTIL_TS = `export class Greeter {
  constructor(private readonly greeting: string) {}

  greet(name: string): string {
    if (name === "") {
      throw new RangeError(\`cannot greet nobody with \${this.greeting}\`);
    }
    return \`\${this.greeting}, \${name}\`;
  }
}
`;

export const MAIN_TS = `import { Greeter } from "./util.js";

declare const process: { stdout: { write(text: string): void } };

interface Options {
  loud: boolean;
}

export const runGreeting = (options: Options): string => {
  const greeter = new Greeter(options.loud ? "HELLO" : "hello");
  return greeter.greet("");
};

function wrapped(): void {
  try {
    runGreeting({ loud: false });
  } catch (error) {
    throw new Error("greeting failed", { cause: error });
  }
}

try {
  wrapped();
} catch (error) {
  const e = error as Error & { cause: Error };
  process.stdout.write(JSON.stringify({ stack: e.stack, cause: e.cause.stack }));
}
`;

export interface Fixture {
  dir: string;
  utilTs: string;
  mainTs: string;
  /** tsc output: dist/main.js with dist/main.js.map beside it. */
  tscMain: string;
  /** esbuild, minified, external map. */
  bundleExternal: string;
  /** esbuild, not minified, inline map. */
  bundleInline: string;
  /** esbuild, minified ES module with an inline map (file:// frames). */
  bundleEsm: string;
}

/** 1-based line and column of `needle` in `text` (first occurrence). */
export function positionOf(text: string, needle: string): { line: number; column: number } {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const column = lines[i]!.indexOf(needle);
    if (column >= 0) return { line: i + 1, column: column + 1 };
  }
  throw new Error(`${needle} not found`);
}

export function buildFixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), "bt-source-map-"));
  mkdirSync(join(dir, "src"));
  const utilTs = join(dir, "src", "util.ts");
  const mainTs = join(dir, "src", "main.ts");
  writeFileSync(utilTs, UTIL_TS);
  writeFileSync(mainTs, MAIN_TS);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "commonjs" }));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "commonjs", strict: true, sourceMap: true, outDir: "dist", rootDir: "src", types: [] },
      include: ["src"],
    }),
  );
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", dir], { stdio: "pipe" });
  const common = { entryPoints: [mainTs], bundle: true, platform: "node" as const, logLevel: "silent" as const };
  const bundleExternal = join(dir, "out", "external.js");
  const bundleInline = join(dir, "out", "inline.js");
  const bundleEsm = join(dir, "out esm", "bundle ü.mjs");
  // "linked": a separate .map file named by a sourceMappingURL comment.
  buildSync({ ...common, outfile: bundleExternal, minify: true, sourcemap: "linked" });
  buildSync({ ...common, outfile: bundleInline, sourcemap: "inline" });
  buildSync({ ...common, outfile: bundleEsm, minify: true, sourcemap: "inline", format: "esm" });
  return { dir, utilTs, mainTs, tscMain: join(dir, "dist", "main.js"), bundleExternal, bundleInline, bundleEsm };
}

/** Runs a fixture output in a real child process and returns the stacks it printed. */
export function runFixture(file: string, nodeArgs: string[] = []): { stack: string; cause: string } {
  const out = execFileSync(process.execPath, [...nodeArgs, file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out) as { stack: string; cause: string };
}

export function read(path: string): string {
  return readFileSync(path, "utf8");
}

/** Runs a TypeScript file through tsx, which compiles it in memory with inline source maps. */
export function runWithTsx(file: string): { stack: string; cause: string } {
  return runFixture(file, ["--import", import.meta.resolve("tsx")]);
}

/** An application whose failure is an async function at the top of the stack; it reports through the built client. */
export const ASYNC_APP_TS = `import { BacktraceClient } from "backtrace-ts";
import { loadUserRecord } from "./users.js";

async function handleRequest(): Promise<void> {
  await loadUserRecord(7);
}

const client = new BacktraceClient({
  endpoint: process.env["BT_ENDPOINT"]!,
  token: "t0k3n",
  disableGlobalHandler: true,
  spool: false,
  contextLineCount: 1,
});

handleRequest().catch(async (error: unknown) => {
  await client.sendException(error);
  await client.finalize();
});
`;

export const USERS_TS = `export async function loadUserRecord(id: number): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  if (id > 0) {
    throw new Error(\`no user \${id}\`);
  }
  return "x";
}
`;

/** Deployed outputs of ASYNC_APP_TS: the .ts sources are deleted once built, as when only dist/ is shipped. */
export interface DistOnly {
  dir: string;
  /** Where the sources were (absent now): the paths the maps name. */
  appTs: string;
  usersTs: string;
  /** esbuild, minified CommonJS bundle, external map with sourcesContent. */
  bundleCjs: string;
  /** esbuild, minified ES module bundle, inline map. */
  bundleEsm: string;
  /** esbuild, one minified CommonJS file per source (dist/app.js requires dist/users.js), external maps. */
  filesCjs: string;
}

/** Builds ASYNC_APP_TS into `dir` (a project with backtrace-ts installed), then deletes src/. */
export function buildDistOnly(dir: string): DistOnly {
  const src = join(dir, "src");
  mkdirSync(src, { recursive: true });
  const appTs = join(src, "app.ts");
  const usersTs = join(src, "users.ts");
  writeFileSync(appTs, ASYNC_APP_TS);
  writeFileSync(usersTs, USERS_TS);
  const common = { platform: "node" as const, logLevel: "silent" as const, minify: true, target: "node20" };
  const bundle = { ...common, entryPoints: [appTs], bundle: true, external: ["backtrace-ts"] };
  const bundleCjs = join(dir, "dist", "bundle.js");
  const bundleEsm = join(dir, "dist", "bundle.mjs");
  buildSync({ ...bundle, outfile: bundleCjs, sourcemap: "linked", format: "cjs" });
  buildSync({ ...bundle, outfile: bundleEsm, sourcemap: "inline", format: "esm" });
  buildSync({ ...common, entryPoints: [appTs, usersTs], outdir: join(dir, "dist", "files"), sourcemap: "linked", format: "cjs" });
  rmSync(src, { recursive: true, force: true });
  return { dir, appTs, usersTs, bundleCjs, bundleEsm, filesCjs: join(dir, "dist", "files", "app.js") };
}
