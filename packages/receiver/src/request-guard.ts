// Who may talk to the receiver: the Host check against DNS rebinding, the Origin check on submissions, the viewer token.
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface HostRules {
  /** The port the receiver listens on; loopback names must carry it (or none, meaning 80, when it is 80). */
  port: number;
  /** Addresses and names accepted with the port: loopback, the listening address, the machine's own when bound to all. */
  local: Set<string>;
  /** Names from --allowed-hosts, with any port; ".example.test" takes the domain and its subdomains. */
  extra: string[];
}

/** "host:port", "[::1]:port" or "host" to its lower-cased name and port (undefined when none is given). */
export function splitHost(value: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  const name = match[1]!.toLowerCase().replace(/^\[|\]$/g, "");
  return { name, port: match[2] === undefined ? undefined : Number(match[2]) };
}

/**
 * A page on an attacker's domain whose DNS is rebound to 127.0.0.1 reaches the receiver with its own domain in Host;
 * browsers always send Host, so only the names the receiver is known by are served. Without a Host (HTTP/1.0) there
 * is no browser to fear.
 */
export function hostAllowed(host: string | undefined, rules: HostRules): boolean {
  if (host === undefined) return true;
  const parsed = splitHost(host);
  if (!parsed) return false;
  if (rules.local.has(parsed.name) && (parsed.port ?? 80) === rules.port) return true;
  return rules.extra.some((entry) => (entry.startsWith(".") ? parsed.name === entry.slice(1) || parsed.name.endsWith(entry) : parsed.name === entry));
}

/** The local names for a listening address: loopback always, the address itself, and every interface when bound to all. */
export function localNames(listenHost: string, interfaceAddresses: () => string[]): Set<string> {
  const names = new Set(["localhost", "127.0.0.1", "::1", listenHost.toLowerCase().replace(/^\[|\]$/g, "")]);
  if (listenHost === "0.0.0.0" || listenHost === "::") for (const address of interfaceAddresses()) names.add(address.toLowerCase());
  return names;
}

/**
 * Why a submission is refused as coming from a web page, or undefined when it is not. A page can POST text/plain to
 * any address without CORS asking; Node and Python clients send neither Origin nor Sec-Fetch-Site, browsers do.
 */
export function crossSiteReason(headers: IncomingHttpHeaders, allowOrigins: string[]): string | undefined {
  const origin = headers["origin"];
  if (origin !== undefined) {
    if (allowOrigins.includes(origin)) return undefined;
    // The receiver's own pages never POST, but its origin is no threat either.
    if (headers["host"] !== undefined && origin === `http://${headers["host"]}`) return undefined;
    return `submissions from web pages at ${origin} are refused; start the receiver with --allow-origin ${origin} to accept them`;
  }
  if (headers["sec-fetch-site"] === "cross-site") return "submissions from other sites' web pages are refused (Sec-Fetch-Site: cross-site)";
  return undefined;
}

/** The CORS answer headers for an origin listed in --allow-origin, so browser clients can read the answer. */
export function corsHeaders(headers: IncomingHttpHeaders, allowOrigins: string[]): Record<string, string> {
  const origin = headers["origin"];
  if (origin === undefined || !allowOrigins.includes(origin)) return {};
  return { "access-control-allow-origin": origin, vary: "Origin" };
}

function same(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `Authorization: Bearer <token>`, or Basic with the token as password (browsers ask for it with their own dialog). */
export function viewerAuthorized(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const [scheme, value = ""] = authorization.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme ?? "")) return same(token, value);
  if (!/^basic$/i.test(scheme ?? "")) return false;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 && same(token, decoded.slice(colon + 1));
}
