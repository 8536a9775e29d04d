// Attachments that are not regular files (a FIFO without a writer) are left out without blocking anything.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startReceiver } from "../helpers/http-receiver.js";
import { runNode, tempDir } from "../fixtures/crash/child.js";

for (const end of ["exit", "crash"] as const) {
  test(`a FIFO attachment blocks neither reports, the app's own I/O, nor ${end === "exit" ? "process.exit()" : "a later crash"}`, async () => {
    const receiver = await startReceiver();
    const dir = tempDir("fifo");
    const fifo = join(dir, "pipe.log");
    execFileSync("mkfifo", [fifo]);
    const regular = join(dir, "app.log");
    writeFileSync(regular, "regular attachment\n");
    try {
      const result = await runNode(["fifo-attachment.cjs"], {
        BT_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
        BT_FIFO: fifo,
        BT_REGULAR: regular,
        BT_SPOOL: join(dir, "spool"),
        FIFO_END: end,
      });
      assert.equal(result.signal, null, `the process ended by itself (stderr: ${result.stderr})`);
      assert.equal(result.code, end === "exit" ? 0 : 1, result.stderr);
      assert.match(result.stdout, /^outcomes sent,sent,sent,sent,sent,sent$/m);
      assert.match(result.stdout, /^app io done$/m);
      if (end === "crash") assert.match(result.stderr, /Error: crash after the fifo/);
      assert.match(result.stderr, /attachments skipped: pipe\.log \(not a regular file\)/);
      if (end === "crash") assert.match(result.stderr, /crash report [0-9a-f-]+: attachments skipped: pipe\.log \(not a regular file\)/);
      const expected = end === "crash" ? 7 : 6;
      assert.ok(receiver.requests.length >= expected, `${receiver.requests.length} reports arrived`);
      for (const request of receiver.requests) {
        const names = (request.parts ?? []).map((part) => part.name);
        assert.deepEqual(names, ["upload_file", "attachment_app.log"], "sent with the regular attachment only");
      }
    } finally {
      await receiver.close();
    }
  });
}
