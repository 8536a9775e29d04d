// What importing and initializing the client loads: node:crypto (about 3.5 ms on Node 20) waits for the first report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runNode } from "./helpers/child.js";
import { CLIENT_DIR } from "./helpers/project.js";
import { loadKey, seal, unseal } from "../src/spool/spool-guard.js";

test("import and initialize (spool, fatal-error record and all) load no node:crypto; the first report does", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bt-startup-"));
  try {
    const spool = join(dir, "spool");
    const script =
      `const loaded = () => process.moduleLoadList.includes("NativeModule crypto");\n` +
      `const bt = require(${JSON.stringify(join(CLIENT_DIR, "dist/index.cjs"))});\n` +
      `const afterImport = loaded();\n` +
      `bt.initialize({ endpoint: "http://127.0.0.1:9", token: "t", spool: ${JSON.stringify(spool)}, disableGlobalHandler: true, timeout: 0.2, exitTimeout: 0.2 });\n` +
      `const afterInit = loaded();\n` +
      `bt.sendException(new Error("first"));\n` +
      `console.log(JSON.stringify({ afterImport, afterInit, afterReport: loaded() }));\n`;
    // A file, not -e: Node's -e loads node:crypto itself.
    const file = join(dir, "app.cjs");
    writeFileSync(file, script);
    const result = await runNode([file]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { afterImport: false, afterInit: false, afterReport: true });
    // The key was made without node:crypto, and the record sealed at initialize verifies with node:crypto's HMAC.
    const key = loadKey(spool, process.getuid?.());
    assert.equal(key.length, 32);
    assert.notDeepEqual(key, Buffer.alloc(32));
    const records = readdirSync(join(spool, "fatal")).filter((name) => name.startsWith("attributes-"));
    for (const name of records) assert.ok(unseal(readFileSync(join(spool, "fatal", name), "utf8"), key) !== undefined, name);
    assert.ok(unseal(seal('{"a":1}', key), key));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
