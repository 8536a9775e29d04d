// Finds which generated file Node's own source-map support (--enable-source-maps) mapped an original file from.
import { createRequire, findSourceMap } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface NodeSourceMaps {
  /** The loaded generated file whose map has `original` (a path) among its sources. */
  generatedFor(original: string): string | undefined;
}

const ENABLE_FLAG = /(?:^|\s)--enable-source-maps(?=\s|$)/;

/**
 * Whether Node rewrites stack frames to original positions itself. `process.sourceMapsEnabled`
 * (Node 20.7) also sees `process.setSourceMapsEnabled(true)`; the flags are the fallback.
 */
export function nodeSourceMapsEnabled(): boolean {
  const enabled = (process as { sourceMapsEnabled?: unknown }).sourceMapsEnabled;
  if (typeof enabled === "boolean") return enabled;
  return process.execArgv.includes("--enable-source-maps") || ENABLE_FLAG.test(process.env["NODE_OPTIONS"] ?? "");
}

// Module._cache: the same object from any require; the executable's path is absolute everywhere.
let cache: Record<string, unknown> | undefined;
const moduleCache = (): Record<string, unknown> => (cache ??= createRequire(process.execPath).cache);

/** At most this many generated files are asked about (each `findSourceMap` parses its map). */
const MAX_ASKED = 10_000;

/**
 * Node keys the maps it loaded by generated file and lists none of them, so the generated files are
 * the loaded CommonJS modules and the main script (an ES module's imports are not listed anywhere).
 * Each is asked once; a miss looks again only at files loaded since.
 */
export function createNodeSourceMaps(): NodeSourceMaps {
  const byOriginal = new Map<string, string>();
  const asked = new Set<string>();

  function candidates(): string[] {
    const files = Object.keys(moduleCache());
    const main = process.argv[1];
    if (typeof main === "string" && main !== "") files.push(resolve(main));
    return files;
  }

  function ask(generated: string): void {
    let sources: unknown;
    try {
      sources = findSourceMap(generated)?.payload.sources;
    } catch {
      return;
    }
    if (!Array.isArray(sources)) return;
    const base = pathToFileURL(generated);
    for (const source of sources) {
      if (typeof source !== "string") continue;
      try {
        // Node makes sources absolute file URLs; a relative one is resolved the way a map's would be.
        const url = new URL(source, base);
        if (url.protocol !== "file:") continue;
        const original = fileURLToPath(url);
        if (!byOriginal.has(original)) byOriginal.set(original, generated);
      } catch {
        // not a file source
      }
    }
  }

  return {
    generatedFor(original) {
      const known = byOriginal.get(original);
      if (known !== undefined) return known;
      for (const file of candidates()) {
        if (asked.has(file) || asked.size >= MAX_ASKED) continue;
        asked.add(file);
        ask(file);
      }
      return byOriginal.get(original);
    },
  };
}
