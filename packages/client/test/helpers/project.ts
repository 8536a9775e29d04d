// A throwaway application folder under the temp folder: a package.json, its files, and backtrace-ts linked in as an installed dependency.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** packages/client: the package as an application would install it (its dist must be built). */
export const CLIENT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface Project {
  dir: string;
  remove(): void;
}

/** A project with `files` (path → text); `link: false` leaves node_modules out (for installing from a tarball). */
export function makeProject(pkg: Record<string, unknown>, files: Record<string, string>, options: { link?: boolean } = {}): Project {
  const dir = mkdtempSync(join(tmpdir(), "bt-project-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  if (options.link !== false) {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(CLIENT_DIR, join(dir, "node_modules", "backtrace-ts"), "dir");
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
