// The way to the endpoint through a forward proxy: which proxy (the `proxy` option or the *_PROXY / NO_PROXY
// environment, matched by proxy-from-env), its credentials, and the CONNECT tunnel for https endpoints.
import type { Socket } from "node:net";
import { getProxyForUrl } from "proxy-from-env";
import { lazyNet, lazyTls } from "../builtins.js";
import { connectionDefaults } from "../defaults.js";

/** A proxy to go through. Its credentials are only in `authorization`, which is never printed. */
export interface ProxyRoute {
  host: string;
  port: number;
  /** The proxy itself is reached over TLS (an https:// proxy URL). */
  secure: boolean;
  /** The `Proxy-Authorization` header line (CRLF ended) from the proxy URL's user and password; "" without. */
  authorization: string;
  /** host:port, for messages. */
  label: string;
}

/** The proxy refused to open the tunnel; a 407 means it refused the credentials. */
export class ProxyRefusal extends Error {
  constructor(
    readonly status: number,
    label: string,
  ) {
    super(`the proxy at ${label} answered ${status} to CONNECT${status === 407 ? " (proxy authentication required)" : ""}`);
  }
}

/** A percent-encoded URL part as text; as it is when its escapes are malformed. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The proxy for requests to `url`: the `proxy` setting when it is a URL, none when it is false, otherwise
 * what the environment says (HTTPS_PROXY or HTTP_PROXY by the endpoint's scheme, lower case first, minus
 * NO_PROXY). An unusable proxy URL is an Error: requests then fail rather than go around the proxy.
 */
export function proxyFor(url: string, setting: string | false | undefined, fromEnv: (url: string) => string = getProxyForUrl): ProxyRoute | Error | undefined {
  if (setting === false) return undefined;
  const text = setting ?? fromEnv(url);
  if (text === "") return undefined;
  let proxy: URL;
  try {
    proxy = new URL(text);
  } catch {
    // Not echoed: it may hold a password.
    return new Error("the proxy URL is not a valid URL");
  }
  if ((proxy.protocol !== "http:" && proxy.protocol !== "https:") || proxy.hostname === "") {
    return new Error(`the proxy URL must be an http:// or https:// URL, got "${proxy.protocol}"`);
  }
  const secure = proxy.protocol === "https:";
  const host = proxy.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(proxy.port) || (secure ? 443 : 80);
  const authorization =
    proxy.username === "" && proxy.password === ""
      ? ""
      : `Proxy-Authorization: Basic ${Buffer.from(`${decoded(proxy.username)}:${decoded(proxy.password)}`, "utf8").toString("base64")}\r\n`;
  return { host, port, secure, authorization, label: `${proxy.hostname}:${port}` };
}

/** Where requests go, in words, for debug messages: never the proxy's credentials. */
export function describeRoute(route: ProxyRoute | Error | undefined): string {
  if (route === undefined) return "directly";
  if (route instanceof Error) return `nowhere: ${route.message}`;
  return `through the proxy at ${route.label}`;
}

/** A connection to the proxy itself (TCP, or TLS verified against the proxy's name). */
export function dialProxy(route: ProxyRoute, secureContext: import("node:tls").SecureContext | undefined): Socket {
  if (!route.secure) return lazyNet().connect({ host: route.host, port: route.port });
  return lazyTls().connect({
    host: route.host,
    port: route.port,
    ...(lazyNet().isIP(route.host) === 0 ? { servername: route.host } : {}),
    ...(secureContext !== undefined ? { secureContext } : {}),
  });
}

/**
 * Opens a tunnel to host:port through the proxy with CONNECT and gives the connection once the proxy said
 * 2xx (the TLS of the endpoint then runs inside it), or the error: a refusal, a broken answer, a timeout.
 */
export function openTunnel(
  route: ProxyRoute,
  target: { host: string; port: number },
  options: { timeoutMs: number; secureContext: import("node:tls").SecureContext | undefined; track: (socket: Socket) => void },
  give: (socket: Socket | Error) => void,
): void {
  const authority = lazyNet().isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  const raw = dialProxy(route, options.secureContext);
  raw.unref();
  options.track(raw);
  let settled = false;
  let head = Buffer.alloc(0);
  const finish = (result: Socket | Error): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    raw.off("data", onData);
    raw.off("error", finish);
    raw.off("close", onClose);
    if (result instanceof Error) raw.destroy();
    give(result);
  };
  const timer = setTimeout(() => finish(new Error(`the proxy at ${route.label} did not open a tunnel within ${options.timeoutMs} ms`)), options.timeoutMs);
  timer.unref();
  const onClose = (): void => finish(new Error(`the proxy at ${route.label} closed the connection before answering CONNECT`));
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end < 0) {
      if (head.length > connectionDefaults.maxHeadBytes) finish(new Error(`the proxy at ${route.label} sent a CONNECT answer too long`));
      return;
    }
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString("latin1", 0, Math.min(end, 64)));
    if (status === null) return finish(new Error(`the proxy at ${route.label} did not answer CONNECT in HTTP/1.x`));
    const code = Number(status[1]);
    if (code < 200 || code > 299) return finish(new ProxyRefusal(code, route.label));
    // A proxy says nothing after its answer until the endpoint does; anything already there belongs to the tunnel.
    if (head.length > end + 4) raw.unshift(head.subarray(end + 4));
    finish(raw);
  };
  raw.on("data", onData);
  raw.on("error", finish);
  raw.on("close", onClose);
  raw.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${route.authorization}\r\n`);
}
