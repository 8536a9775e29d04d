// Where the benchmarks load this repository's packages from. `npm run bench` copies the current
// builds (packages/client and packages/receiver: package.json and dist/) into
// bench/results/tmp/node_modules before it starts and points BENCH_BUILDS there, so that a
// rebuild in the working tree during the run (npm test rebuilds) cannot pull files from under
// it. Run alone, a benchmark loads the live packages.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = fileURLToPath(new URL("../../", import.meta.url));

const PACKAGES = {
  "backtrace-ts": { from: "packages/client", copy: ["package.json", "dist"] },
  "backtrace-ts-receiver": { from: "packages/receiver", copy: ["package.json", "dist", "schema"] },
};

/** The file `import "<name>"` loads, from the package.json in `dir` (exports, then module, then main). */
function entryOf(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  let target = pkg.exports?.["."] ?? pkg.exports;
  while (target && typeof target === "object") target = target.import ?? target.node ?? target.default;
  return typeof target === "string" ? target : pkg.module ?? pkg.main ?? "index.js";
}

/** Folder holding the package's files (package.json, dist/...): the snapshot or the live package. */
export function packageDir(name) {
  const spec = PACKAGES[name];
  if (!spec) throw new Error(`unknown package ${name}`);
  const snapshot = process.env.BENCH_BUILDS;
  return snapshot ? join(snapshot, name) : join(repo, spec.from);
}

/** file: URL of a file inside the package, e.g. packageUrl("backtrace-ts", "dist/esm/stack.js"). */
export function packageUrl(name, file) {
  const dir = packageDir(name);
  return pathToFileURL(join(dir, file ?? entryOf(dir))).href;
}

/** Imports the package's main entry. */
export function importPackage(name) {
  return import(packageUrl(name));
}

/**
 * Copies the builds into `dir`/node_modules and returns that folder (to put in BENCH_BUILDS).
 * Their dependencies (trace-mapping, better-sqlite3, ...) are linked there from the root
 * node_modules, so that they resolve to the versions the workspace installed and not to
 * whatever bench/node_modules holds. Retries when a build is half-written (a rebuild running).
 */
export async function snapshotBuilds(dir) {
  const modules = join(dir, "node_modules");
  rmSync(modules, { recursive: true, force: true });
  const missing = [];
  for (const [name, spec] of Object.entries(PACKAGES)) {
    const src = join(repo, spec.from);
    const dest = join(modules, name);
    let ok = false;
    for (let attempt = 0; attempt < 5 && !ok; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 3000));
      try {
        rmSync(dest, { recursive: true, force: true });
        mkdirSync(dest, { recursive: true });
        for (const item of spec.copy) cpSync(join(src, item), join(dest, item), { recursive: true });
        ok = existsSync(join(dest, entryOf(dest)));
      } catch {
        ok = false;
      }
    }
    if (!ok) missing.push(name);
    const deps = Object.keys(JSON.parse(readFileSync(join(src, "package.json"), "utf8")).dependencies ?? {});
    for (const dep of deps) {
      const target = join(repo, "node_modules", dep);
      const link = join(modules, dep);
      if (!existsSync(target) || existsSync(link)) continue;
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(target, link, "dir");
    }
  }
  return { modules, missing };
}

/**
 * Bundles named exports of the client's own source (paths relative to packages/client/src) with esbuild
 * into bench/results/tmp/<file>, for benchmarks of parts the shipped bundle does not expose. The file's
 * path, or undefined (with a line saying why) when it does not build.
 */
export async function bundleClientSource(exports, file) {
  const src = join(repo, "packages/client/src");
  const outfile = fileURLToPath(new URL(`../results/tmp/${file}`, import.meta.url));
  try {
    const esbuild = await import("esbuild");
    mkdirSync(dirname(outfile), { recursive: true });
    const contents = Object.entries(exports).map(([path, names]) => `export { ${names.join(", ")} } from "./${path}";\n`).join("");
    await esbuild.build({ stdin: { contents, resolveDir: src, loader: "ts" }, bundle: true, format: "esm", platform: "node", target: "node20", outfile, logLevel: "silent" });
    return outfile;
  } catch (error) {
    console.log(`could not bundle ${Object.keys(exports).join(", ")} of packages/client/src: ${String(error.message).split("\n")[0]}`);
    return undefined;
  }
}
