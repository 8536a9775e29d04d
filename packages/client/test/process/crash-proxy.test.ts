// The crash path through a real forward proxy: a child process with HTTPS_PROXY set dies of an uncaught
// exception, and its report reaches an https receiver (private CA, given as a path) through a CONNECT tunnel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startReceiver } from "../helpers/http-receiver.js";
import { privateCa } from "../helpers/tls.js";
import { startTinyproxy } from "../helpers/tinyproxy.js";
import { runNode, spoolRecords, tempDir } from "../fixtures/crash/child.js";

test("a crash report goes through HTTPS_PROXY's tunnel, TLS checked against the ca option's file", async (t) => {
  const proxy = await startTinyproxy(t);
  const { key, cert, caCert } = privateCa();
  const receiver = await startReceiver({ tls: { key, cert } });
  t.after(() => receiver.close());
  const dir = tempDir("bt-crash-proxy-");
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, caCert);
  const spool = join(dir, "spool");
  const result = await runNode(["crash.cjs"], {
    CRASH: "exception",
    BT_ENDPOINT: receiver.url.replace(/\/post.*$/, "").replace("127.0.0.1", "localhost"),
    BT_CA: caFile,
    BT_EXIT_TIMEOUT: "10",
    BT_SPOOL: spool,
    HTTPS_PROXY: proxy.url,
    NO_PROXY: undefined,
    no_proxy: undefined,
  });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(receiver.requests.length, 1, "the report arrived while the process was ending");
  const attributes = (receiver.requests[0]?.report as { attributes: Record<string, unknown> }).attributes;
  assert.equal(attributes["error.message"], "boom from a timer");
  assert.match(proxy.log(), new RegExp(`CONNECT localhost:${receiver.port}`));
  assert.deepEqual(spoolRecords(spool), [], "sent, so the spool record was removed");
});
