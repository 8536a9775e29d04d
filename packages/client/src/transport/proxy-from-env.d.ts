// Types of proxy-from-env (it ships none): the one function the client uses.
declare module "proxy-from-env" {
  /** The proxy URL for `url` from HTTP(S)_PROXY / ALL_PROXY minus NO_PROXY, lower case first; "" for none. */
  export function getProxyForUrl(url: string | URL): string;
}
