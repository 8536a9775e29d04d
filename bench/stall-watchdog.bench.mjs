// The stall watchdog's idle cost: process CPU over 30 s of an idle process with stallThreshold 1, against the same process without the watchdog, run side by side.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const lib = fileURLToPath(new URL("../packages/client/dist/index.cjs", import.meta.url));
const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 30;

// The child settles for a second (the worker's start is not idle cost), then measures its own CPU while idle.
const child = (stallThreshold) => `
  const bt = require(${JSON.stringify(lib)});
  bt.initialize({ endpoint: "http://127.0.0.1:9/", token: "t", spool: ${JSON.stringify(mkdtempSync(join(tmpdir(), "bt-bench-stall-")))}, stallThreshold: ${stallThreshold}, breadcrumbs: false });
  setTimeout(() => {
    const start = process.cpuUsage();
    setTimeout(() => {
      const used = process.cpuUsage(start);
      process.stdout.write(JSON.stringify({ cpuMs: (used.user + used.system) / 1000 }));
    }, ${seconds * 1000});
  }, 1000);
`;

function run(stallThreshold) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["-e", child(stallThreshold)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (chunk) => (out += chunk));
    proc.on("close", (code) => (code === 0 ? resolve(JSON.parse(out).cpuMs) : reject(new Error(`child exited with ${code}`))));
  });
}

const [without, withWatchdog] = await Promise.all([run(0), run(1)]);
const result = { seconds, stallThreshold: 1, processCpuMsWithout: without, processCpuMsWith: withWatchdog, watchdogCpuMs: Math.max(0, withWatchdog - without) };
console.log(JSON.stringify(result, null, 2));
