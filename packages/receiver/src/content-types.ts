// Content types of attachments: a type from the file name when the client sent none worth keeping, and which types are served as they are (leaf).

const byExtension: Record<string, string> = {
  txt: "text/plain",
  log: "text/plain",
  out: "text/plain",
  csv: "text/csv",
  md: "text/markdown",
  json: "application/json",
  ndjson: "application/x-ndjson",
  jsonl: "application/x-ndjson",
  xml: "application/xml",
  html: "text/html",
  htm: "text/html",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  zip: "application/zip",
  gz: "application/gzip",
  dmp: "application/x-dmp",
  pdf: "application/pdf",
};

/** Names @backtrace/node gives its breadcrumb files: `bt-breadcrumbs-0`, `bt-breadcrumbs-0_<session>_<time>`. */
export function isBreadcrumbsName(name: string): boolean {
  return /^bt-breadcrumbs-\d+(?:[_.].*)?$/.test(name);
}

/**
 * The type to show and serve: the declared one unless it is missing or generic (backtracepython and @backtrace/node
 * label every file application/octet-stream), else one from the name's extension.
 */
export function attachmentType(name: string, declared: string): string {
  if (declared !== "" && declared !== "application/octet-stream") return declared;
  if (isBreadcrumbsName(name)) return "application/x-ndjson";
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return (extension && byExtension[extension]) ?? "application/octet-stream";
}

/** Served with their own type; anything else (HTML, SVG, scripts) goes out as application/octet-stream. */
export const passThroughTypes = new Set(["text/plain", "text/csv", "application/json", "application/x-ndjson", "image/png", "image/jpeg", "image/gif", "application/zip", "application/gzip"]);
