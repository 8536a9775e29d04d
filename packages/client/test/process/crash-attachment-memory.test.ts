// The crash path streams attachments from disk: a large attachment is sent whole without the process holding it in memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { runNode, tempDir } from "../fixtures/crash/child.js";

const SIZE = 256 * 1024 * 1024;

test("a 256 MB attachment of a crash report arrives whole while the process's peak memory stays far below its size", async (t) => {
  const dir = tempDir("big-attachment");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "big.bin");
  const fd = openSync(file, "w");
  ftruncateSync(fd, SIZE); // sparse: quick to make, read back as zeros
  closeSync(fd);
  // A receiver that counts the bytes of each request and keeps none of them.
  let received = 0;
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => (received += chunk.length));
    req.on("end", () => res.end('{"response":"ok","_rxid":"r"}'));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const result = await runNode(["--require", "./peak-rss.cjs", "crash.cjs"], {
    CRASH: "exception",
    BT_ENDPOINT: `http://127.0.0.1:${port}`,
    BT_SPOOL: join(dir, "spool"),
    BT_ATTACHMENT: file,
    BT_EXIT_TIMEOUT: "60",
  });
  assert.equal(result.code, 1, result.stderr);
  assert.ok(received > SIZE, `the receiver got ${received} bytes`);
  const peak = Number(/peak rss (\d+)/.exec(result.stdout)?.[1]);
  assert.ok(peak > 0, result.stdout);
  assert.ok(peak < SIZE / 2, `peak RSS ${Math.round(peak / 1048576)} MB for a ${SIZE / 1048576} MB attachment`);
});
