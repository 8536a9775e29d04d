// Which certificate authorities TLS trusts: Node's own (NODE_EXTRA_CA_CERTS included), plus the `ca` option's.
import type { SecureContext } from "node:tls";
import { readFileSync } from "node:fs";
import { lazyTls } from "../builtins.js";

/**
 * A TLS context trusting Node's bundled roots, the certificates of NODE_EXTRA_CA_CERTS and `ca` (PEM text);
 * undefined without `ca`, where Node's default context already trusts the first two. Made once per pool:
 * building a context parses every root certificate.
 */
export function trustedContext(ca: string | undefined, readFile: (path: string) => string = (path) => readFileSync(path, "utf8")): SecureContext | undefined {
  if (ca === undefined) return undefined;
  const tls = lazyTls();
  // Passing `ca` replaces Node's store; the extra certificates Node read at start-up are added back by hand.
  const extra = process.env["NODE_EXTRA_CA_CERTS"];
  let extraPem: string[] = [];
  if (extra !== undefined && extra !== "") {
    try {
      extraPem = [readFile(extra)];
    } catch {
      // Node warned about an unreadable file at start-up already; it trusts nothing from it either.
    }
  }
  return tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraPem, ca] });
}
