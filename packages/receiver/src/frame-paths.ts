// Where a frame's file lives, read from its path: the path relative to its package or application, and whether it is library code.

/** Folders under which code belongs to a package, not to the application. */
const packageFolders = ["node_modules", "site-packages", "dist-packages", "vendor"];

/** Library paths as clients write them: URLs, webpack's scheme, Windows separators, cache-busting queries. */
function plainPath(library: string): string {
  let path = library.trim().replace(/\\/g, "/");
  path = path.replace(/^file:\/\//, "").replace(/^webpack(-internal)?:\/\/[^/]*\//, "").replace(/[?#].*$/, "");
  const url = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(path);
  if (url) path = url[1] ?? "/";
  return path;
}

/** True for runtime and package code: Node's own modules, node_modules, Python's standard library and site-packages. */
export function isLibraryPath(library: string | undefined): boolean {
  if (library === undefined || library === "" || library === "unknown" || library === "native") return true;
  const path = plainPath(library);
  if (/^(node:|internal\/|<frozen |<)/.test(path)) return true;
  if (packageFolders.some((folder) => path.includes(`/${folder}/`) || path.startsWith(`${folder}/`))) return true;
  return /\/lib\/python\d[^/]*\//.test(path) || /^\/usr\/(lib|share)\//.test(path);
}

/**
 * The path with what changes between deploys taken out, so the same code run from another folder or release groups
 * together: package files keep the path inside their package (`express/lib/router.js`, whatever the version folder),
 * runtime modules stay as named, and application files keep their file name only: the folder above it is exactly what
 * differs between `/tmp/a/bundle.js` and `/srv/releases/42/bundle.js`, and the function names tell the rest apart.
 */
export function normalizeLibrary(library: string): string {
  const path = plainPath(library);
  if (/^(node:|internal\/|<)/.test(path)) return path;
  for (const folder of packageFolders) {
    const marker = `${folder}/`;
    const at = path.lastIndexOf(marker);
    if (at >= 0 && (at === 0 || path[at - 1] === "/")) return path.slice(at + marker.length);
  }
  const python = /\/lib\/python\d[^/]*\/(.*)$/.exec(path);
  if (python) return python[1]!;
  const segments = path.split("/").filter((s) => s !== "");
  return segments[segments.length - 1] ?? path;
}
