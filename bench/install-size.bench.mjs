// (e) Installed size and package count: `npm install` of each client alone into an empty
// temporary project (backtrace-ts from an `npm pack` of packages/client, the peers from the
// registry at the versions in bench/package.json), then the size of node_modules (disk usage as
// `du -sk` counts it, and the sum of file sizes) and the number of packages in it (folders
// node_modules/<name> or node_modules/@scope/<name> holding a package.json, at any depth).
// Installs are deterministic, so one run is enough. Run alone: node bench/install-size.bench.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, lstatSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { availableClients, OURS, PEERS } from "./clients/index.mjs";
import { packageDir } from "./lib/builds.mjs";
import { cleanEnv, parseArgs } from "./lib/child.mjs";
import { emit, printTable } from "./lib/output.mjs";
import { ratio } from "./lib/stats.mjs";

const args = parseArgs();
const NPM_TIMEOUT_MS = 180_000;

const npm = (argv, cwd) =>
  execFileSync("npm", [...argv, "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error"], {
    cwd,
    env: cleanEnv({ npm_config_update_notifier: "false" }),
    encoding: "utf8",
    timeout: NPM_TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
  });

/** Sum of file sizes, disk blocks used (as du counts them), and package roots under a folder. */
function measure(dir) {
  let bytes = 0;
  let blocks = 0;
  let packages = 0;
  const seen = new Set();
  const walk = (d, parentIsModules, scope) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      const st = lstatSync(p);
      if (!seen.has(st.ino)) {
        seen.add(st.ino);
        bytes += entry.isFile() ? st.size : 0;
        blocks += st.blocks;
      }
      if (entry.isDirectory()) {
        const isModules = entry.name === "node_modules";
        const isScope = parentIsModules && entry.name.startsWith("@");
        const isPackageRoot = (parentIsModules && !isScope && !entry.name.startsWith(".")) || scope;
        if (isPackageRoot) {
          try {
            lstatSync(join(p, "package.json"));
            packages += 1;
          } catch {
            // a folder without package.json is not a package
          }
        }
        walk(p, isModules, isScope);
      }
    }
  };
  walk(dir, true, false);
  return { bytes, diskBytes: blocks * 512, packages };
}

function specFor(client, work) {
  if (client === OURS) {
    const out = npm(["pack", "--json", "--pack-destination", work], packageDir(OURS));
    const [info] = JSON.parse(out);
    return { spec: join(work, info.filename), tarballBytes: info.size, unpackedBytes: info.unpackedSize, files: info.entryCount };
  }
  const bench = JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8"));
  return { spec: `${client}@${bench.dependencies[client]}` };
}

export async function main() {
  const clients = await availableClients(args.clients ? String(args.clients).split(",") : undefined);
  const results = {};
  const errors = [];
  for (const client of clients) {
    const work = mkdtempSync(join(tmpdir(), "backtrace-ts-bench-install-"));
    try {
      const { spec, ...packInfo } = specFor(client, work);
      const project = join(work, "app");
      execFileSync("mkdir", ["-p", project]);
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
      const t0 = performance.now();
      npm(["install", spec], project);
      const installMs = performance.now() - t0;
      const m = measure(join(project, "node_modules"));
      const version = JSON.parse(readFileSync(join(project, "node_modules", client, "package.json"), "utf8")).version;
      results[client] = {
        version,
        diskMB: m.diskBytes / 1e6,
        sizeMB: m.bytes / 1e6,
        packages: m.packages,
        installMs,
        ...(packInfo.tarballBytes ? { tarballKB: packInfo.tarballBytes / 1000, files: packInfo.files } : {}),
      };
    } catch (error) {
      errors.push({ client, error: String(error.stderr || error.message).trim().split("\n").slice(-3).join(" | ") });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const ratios = {};
  if (results[OURS]) {
    for (const peer of PEERS) {
      if (!results[peer]) continue;
      ratios[peer] = {
        diskMB: ratio(results[OURS].diskMB, results[peer].diskMB),
        sizeMB: ratio(results[OURS].sizeMB, results[peer].sizeMB),
        packages: ratio(results[OURS].packages, results[peer].packages),
      };
    }
  }
  printTable(
    "installed size (npm install of the client alone into an empty project)",
    ["client", "version", "disk MB (du)", "files MB", "packages"],
    clients.filter((c) => results[c]).map((c) => [c, results[c].version, results[c].diskMB.toFixed(2), results[c].sizeMB.toFixed(2), results[c].packages]),
  );
  if (errors.length) console.log("errors:", errors);
  return emit(args, { benchmark: "install-size", runs: 1, results, ratios, errors });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
