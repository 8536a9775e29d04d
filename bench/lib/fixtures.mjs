// Builds the source-mapped fixture: fixtures/deep.ts compiled by esbuild (a root devDependency)
// to fixtures/build/deep-ts.mjs with deep-ts.mjs.map beside it.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = new URL("../fixtures/", import.meta.url);
export const PLAIN = fileURLToPath(new URL("deep.mjs", dir));
export const TS_SOURCE = fileURLToPath(new URL("deep.ts", dir));
export const MAPPED = fileURLToPath(new URL("build/deep-ts.mjs", dir));

export function fixturePath(kind) {
  if (kind === "plain") return PLAIN;
  if (kind === "mapped") return MAPPED;
  throw new Error(`unknown fixture ${kind}`);
}

export function fixtureUrl(kind) {
  return pathToFileURL(fixturePath(kind)).href;
}

/** Compiles the TypeScript fixture when its output is missing or older than the source. */
export async function buildFixtures() {
  if (existsSync(MAPPED) && statSync(MAPPED).mtimeMs >= statSync(TS_SOURCE).mtimeMs) return MAPPED;
  const esbuild = await import("esbuild");
  mkdirSync(fileURLToPath(new URL("build/", dir)), { recursive: true });
  await esbuild.build({
    entryPoints: [TS_SOURCE],
    outfile: MAPPED,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked", // deep-ts.mjs.map beside it, referenced by a sourceMappingURL comment
    sourcesContent: true,
    logLevel: "silent",
  });
  return MAPPED;
}
