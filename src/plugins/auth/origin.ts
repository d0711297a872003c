import type { IncomingMessage } from "node:http";
import { ConfigError } from "../../errors/gateway-error.js";

/** Methods a browser may send cross-site without a preflight and that must not change state anyway. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "LIST"]);

export interface OriginCheck {
  /**
   * Whether the request plainly comes from a page of another origin: its Origin (or, without one, its Referer)
   * names an origin that is not ours. A request naming no origin at all (curl, SDKs) is not cross-site.
   */
  isCrossSite(req: IncomingMessage, secure: boolean): boolean;
}

/** Whether a method can change state, and so needs the CSRF check when the token came from the cookie. */
export function isUnsafeMethod(method: string | undefined): boolean {
  return !SAFE_METHODS.has((method ?? "GET").toUpperCase());
}

/**
 * The gateway's own origins: the configured list, or by default the request's own Host over https (and over http
 * too when the request came in on a plain-HTTP listener). The Host header is trustworthy here: a CSRF attack runs
 * in the victim's browser, which sends our host and an Origin it will not let the attacker's page choose.
 * SameSite=Strict already keeps the cookie off cross-site requests; this check also covers same-site but
 * cross-origin pages (a sibling subdomain) and older browsers.
 * @example
 * createOriginCheck(["https://vault.example.com"]);
 */
export function createOriginCheck(origins?: readonly string[], key = "auth.allowedOrigins"): OriginCheck {
  const configured = origins?.map((origin, i) => normalizeOrigin(origin, `${key}[${i}]`));
  return {
    isCrossSite(req, secure) {
      const claimed = claimedOrigin(req);
      if (claimed === undefined) return false;
      if (configured !== undefined) return !configured.includes(claimed);
      const host = req.headers.host;
      if (host === undefined) return true;
      // https://<host> always (also behind a TLS-terminating balancer); http://<host> only on a plain listener
      if (claimed === originOf(`https://${host}`)) return false;
      return secure || claimed !== originOf(`http://${host}`);
    },
  };
}

/** The origin the browser says the request comes from; "null" (sandboxed frames, file:) and junk never match ours. */
function claimedOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) return originOf(origin) ?? "null";
  const referer = req.headers.referer;
  if (referer !== undefined) return originOf(referer) ?? "null";
  return undefined;
}

function originOf(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

function normalizeOrigin(origin: string, key: string): string {
  const normalized = originOf(origin);
  if (normalized === undefined) throw new ConfigError(`${key}: "${origin}" is not an http(s) origin`);
  return normalized;
}
