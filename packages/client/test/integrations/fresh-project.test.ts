import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { runNode, runProgram } from "../helpers/child.js";
import { startReceiver } from "../helpers/http-receiver.js";
import { CLIENT_DIR, makeProject } from "../helpers/project.js";

async function npm(args: string[], cwd: string): Promise<void> {
  const result = await runProgram("npm", args, { cwd, env: { npm_config_audit: "false", npm_config_fund: "false" } });
  assert.equal(result.code, 0, `npm ${args.join(" ")}: ${result.stderr}`);
}

test("from npm pack, in a fresh project: --import and --require register report a crash unchanged, and `backtrace-ts check` is accepted; import and require give the same main entry, and their subpaths share the request scope", async () => {
  const receiver = await startReceiver();
  const project = makeProject({ name: "fresh", version: "1.0.0" }, {
    "app.mjs": 'throw new Error("fresh esm");\n',
    "app.cjs": 'throw new Error("fresh cjs");\n',
    // Both module systems get the one build of the main entry: the same functions and classes. A subpath has a build
    // per module system, which share the request scope: a listener wrapped by the CommonJS build, run inside one wrapped
    // by the ES module build, opens its scope inside the outer one, and the main entry of either sees it.
    "names.mjs": [
      'import { createRequire } from "node:module";',
      'import bt, { initialize, BacktraceError, getCurrentScope } from "backtrace-ts";',
      'import { requestHandler, wrapHandler } from "backtrace-ts/express";',
      'import { wrapListener } from "backtrace-ts/http";',
      'const require = createRequire(import.meta.url);',
      'const same = initialize === require("backtrace-ts").initialize && bt.BacktraceError === BacktraceError;',
      'const request = () => ({ method: "GET", url: "/x", headers: {}, socket: {} });',
      'let outer, inner, seen;',
      'wrapListener(() => {',
      '  outer = getCurrentScope();',
      '  require("backtrace-ts/http").wrapListener(() => { inner = require("backtrace-ts").getCurrentScope(); seen = getCurrentScope(); })(request(), {});',
      '})(request(), {});',
      'const shared = outer !== undefined && inner !== undefined && inner !== outer && inner.parent === outer && seen === inner;',
      'console.log(same, shared, typeof requestHandler, typeof wrapHandler);',
    ].join("\n"),
  }, { link: false });
  try {
    await npm(["pack", CLIENT_DIR, "--pack-destination", project.dir, "--silent"], project.dir);
    const tarball = readdirSync(project.dir).find((name) => name.endsWith(".tgz"))!;
    await npm(["install", `./${tarball}`, "--offline", "--silent"], project.dir);
    const env = { BACKTRACE_ENDPOINT: `http://127.0.0.1:${receiver.port}`, BACKTRACE_TOKEN: "t0k3n", BACKTRACE_SPOOL: "off" };
    for (const [flag, file] of [["--import", "app.mjs"], ["--require", "app.cjs"]] as const) {
      const plain = await runNode([file], { cwd: project.dir });
      const registered = await runNode([flag, "backtrace-ts/register", file], { cwd: project.dir, env });
      assert.equal(registered.code, plain.code);
      assert.equal(registered.stderr, plain.stderr);
    }
    assert.equal(receiver.requests.length, 2);
    const names = await runNode(["names.mjs"], { cwd: project.dir });
    assert.equal(names.stdout.trim(), "true true function function", names.stderr);
    const check = await runNode([join(project.dir, "node_modules/.bin/backtrace-ts"), "check"], { cwd: project.dir, env });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /accepted: rxid/);
    assert.equal(receiver.requests.length, 3);
  } finally {
    project.remove();
    await receiver.close();
  }
});
