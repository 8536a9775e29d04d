// Custom certificate authorities: a server whose certificate a private CA signed is refused without `ca`,
// accepted with it (as text, as a file), and NODE_EXTRA_CA_CERTS keeps working with and without it.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { postReport } from "../../src/transport/post.js";
import { resolveOptions } from "../../src/options.js";
import { jsonBody, type Payload } from "../../src/payload.js";
import { reportJson, startReceiver, type Receiver } from "../helpers/http-receiver.js";
import { privateCa, selfSignedCert } from "../helpers/tls.js";
import { runNode, tempDir } from "../fixtures/crash/child.js";

function payload(): Payload {
  const uuid = randomUUID();
  return { uuid, json: jsonBody(reportJson(uuid)), attachments: [] };
}

async function privateServer(t: TestContext): Promise<Receiver> {
  const { key, cert } = privateCa();
  const receiver = await startReceiver({ tls: { key, cert } });
  t.after(() => receiver.close());
  return receiver;
}

const base = { timeoutMs: 8000, ignoreSslCertificate: false };

test("a private CA's server is refused without ca and accepted with it, as PEM text and as a file", async (t) => {
  const receiver = await privateServer(t);
  const refused = await postReport(receiver.url, payload(), base);
  assert.equal(refused.kind, "error");
  assert.match(refused.kind === "error" ? refused.reason : "", /certificate/i);

  const asText = await postReport(receiver.url, payload(), { ...base, ca: privateCa().caCert });
  assert.equal(asText.kind === "response" && asText.status, 200, JSON.stringify(asText));

  const file = join(tempDir("bt-ca-"), "corp-ca.pem");
  writeFileSync(file, privateCa().caCert);
  const resolved = resolveOptions({ endpoint: receiver.url.replace(/\/post.*$/, ""), token: "t0k3n", ca: file });
  const asFile = await postReport(resolved.submissionUrl, payload(), { ...base, ca: resolved.ca });
  assert.equal(asFile.kind === "response" && asFile.status, 200, JSON.stringify(asFile));

  // Another CA does not vouch for this server; the name is still checked with the right CA.
  const other = await postReport(receiver.url, payload(), { ...base, ca: selfSignedCert().cert });
  assert.equal(other.kind, "error");
  assert.equal(receiver.requests.length, 2);
});

test("NODE_EXTRA_CA_CERTS keeps working, with and without the ca option (the crash path's sender included)", async (t) => {
  const receiver = await privateServer(t);
  const dir = tempDir("bt-extra-ca-");
  const extra = join(dir, "extra.pem");
  writeFileSync(extra, privateCa().caCert);
  const other = join(dir, "other.pem");
  writeFileSync(other, selfSignedCert().cert);
  const endpoint = receiver.url.replace(/\/post.*$/, "");
  for (const ca of [undefined, other]) {
    const result = await runNode(["crash.cjs"], {
      CRASH: "exception",
      BT_ENDPOINT: endpoint,
      BT_CA: ca,
      BT_EXIT_TIMEOUT: "10",
      BT_SPOOL: join(dir, `spool-${ca ? "ca" : "plain"}`),
      NODE_EXTRA_CA_CERTS: extra,
      HTTPS_PROXY: undefined,
      https_proxy: undefined,
    });
    assert.equal(result.code, 1, result.stderr);
  }
  assert.equal(receiver.requests.length, 2, "both crash reports were accepted");
});
