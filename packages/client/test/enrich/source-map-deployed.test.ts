import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runNode } from "../helpers/child.js";
import { startReceiver, type Receiver } from "../helpers/http-receiver.js";
import { makeProject, type Project } from "../helpers/project.js";
import { USERS_TS, buildDistOnly, positionOf, type DistOnly } from "../helpers/source-map-fixture.js";

// Real minified outputs run in real child processes, with only dist/ deployed: the .ts files the maps name do not exist.

type Frame = { funcName: string; line?: number; column?: number; library?: string; sourceCode?: string };
type Body = {
  threads: Record<string, { stack: Frame[] }>;
  mainThread: string;
  sourceCode: Record<string, { text: string; startLine: number; path: string }>;
};

let project: Project;
let fx: DistOnly;
let receiver: Receiver;
const THROW = positionOf(USERS_TS, "new Error");

before(async () => {
  project = makeProject({ name: "dist-only-app", type: "commonjs" }, {});
  fx = buildDistOnly(project.dir);
  receiver = await startReceiver();
});

after(async () => {
  await receiver.close();
  project.remove();
});

/** Runs a deployed file and returns the report body it sent. */
async function reportOf(file: string, nodeArgs: string[]): Promise<Body> {
  const before = receiver.requests.length;
  const result = await runNode([...nodeArgs, file], { cwd: project.dir, env: { BT_ENDPOINT: `http://127.0.0.1:${receiver.port}` } });
  assert.equal(result.code, 0, result.stderr);
  await receiver.waitFor(before + 1);
  const request = receiver.requests[before]!;
  assert.deepEqual(request.validation?.errors, []);
  return request.report as Body;
}

function assertReport(body: Body): void {
  const [top, caller] = body.threads[body.mainThread]!.stack as [Frame, Frame];
  assert.equal(top.library, fx.usersTs);
  assert.deepEqual([top.line, top.column], [THROW.line, THROW.column]);
  assert.equal(top.funcName, "loadUserRecord", "the original name, not the minified one");
  assert.equal(caller.library, fx.appTs);
  assert.equal(caller.funcName, "async handleRequest");
  const entry = body.sourceCode[top.sourceCode!];
  assert.ok(entry !== undefined, `no source for ${top.sourceCode}: ${JSON.stringify(Object.keys(body.sourceCode))}`);
  assert.equal(entry.path, fx.usersTs);
  assert.equal(entry.startLine, THROW.line - 1);
  assert.deepEqual(entry.text.split("\n"), USERS_TS.split("\n").slice(THROW.line - 2, THROW.line + 1));
  assert.match(body.sourceCode[caller.sourceCode!]?.text ?? "", /await loadUserRecord\(7\);/);
}

const outputs = (): Array<[string, string]> => [
  ["a minified CommonJS bundle", fx.bundleCjs],
  ["a minified ES module bundle with an inline map", fx.bundleEsm],
  ["minified CommonJS files, one per source", fx.filesCjs],
];

test("the sources are not deployed", () => {
  assert.equal(existsSync(fx.usersTs), false);
  assert.equal(existsSync(fx.appTs), false);
});

for (const flag of [[], ["--enable-source-maps"]]) {
  const how = flag.length === 0 ? "without --enable-source-maps" : "with --enable-source-maps";
  test(`${how}: source from sourcesContent and original names of async minified functions`, async () => {
    for (const [what, file] of outputs()) {
      await test(what, async () => assertReport(await reportOf(file, flag)));
    }
  });
}
