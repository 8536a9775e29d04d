// The client's layout holds: imports follow the folder order of the data flow, and the check fails on a planted upward import.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../../scripts/check-imports.mjs", import.meta.url));
const src = fileURLToPath(new URL("../src/", import.meta.url));

function check(root: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [script, "--root", root], { encoding: "utf8" });
  return { status: run.status, output: run.stdout + run.stderr };
}

function copyOfSource(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "bt-layout-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(src, dir, { recursive: true });
  return dir;
}

test("the client's source keeps the folder order, at most six levels deep", () => {
  const { status, output } = check(src);
  assert.equal(status, 0, output);
  assert.match(output, /folder order kept, depth [1-6] \(index\.ts -> /);
});

test("an import pointing up the folder order fails the check", (t) => {
  const dir = copyOfSource(t);
  appendFileSync(join(dir, "spool", "spool.ts"), '\nimport { decide } from "../deliver/decide.js";\nvoid decide;\n');
  const { status, output } = check(dir);
  assert.equal(status, 1);
  assert.match(output, /spool[/\\]spool\.ts imports deliver[/\\]decide\.ts: spool\/ may not import deliver\//);
});

test("a root leaf importing a folder, and an import of an entry point, fail the check", (t) => {
  const dir = copyOfSource(t);
  appendFileSync(join(dir, "outcome.ts"), '\nimport type { Decision } from "./deliver/decide.js";\nexport type D = Decision;\n');
  appendFileSync(join(dir, "capture", "thrown.ts"), '\nimport type { BacktraceClient } from "../client.js";\nexport type C = BacktraceClient;\n');
  const { status, output } = check(dir);
  assert.equal(status, 1);
  assert.match(output, /outcome\.ts imports deliver[/\\]decide\.ts: a root leaf imports only root leaves/);
  assert.match(output, /capture[/\\]thrown\.ts imports client\.ts: only index\.ts imports an entry point/);
});

test("a cycle inside a folder fails the check", (t) => {
  const dir = copyOfSource(t);
  appendFileSync(join(dir, "capture", "stack.ts"), '\nimport type { ThrownInfo } from "./thrown.js";\nexport type T = ThrownInfo;\n');
  const { status, output } = check(dir);
  assert.equal(status, 1);
  assert.match(output, /import cycle: capture[/\\](stack|thrown)\.ts -> /);
});
