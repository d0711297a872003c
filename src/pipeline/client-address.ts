import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

export interface ClientAddress {
  /** The address rate limits and logs attribute the request to. */
  readonly ip: string;
  /** The X-Forwarded-For value the backend receives. */
  readonly forwardedFor: string;
}

/** "::ffff:10.0.0.1" is 10.0.0.1: one client must not count as two. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Works out who the client is. A client's own X-Forwarded-For is believed only when the peer is a configured
 * trusted proxy, and then only up to the first hop that is not itself trusted (walking from the right), so a
 * client cannot pick the address its requests are limited and logged under.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): ClientAddress {
  const peer = plainAddress(req.socket.remoteAddress);
  const claimed = req.headers["x-forwarded-for"];
  if (!trustedProxies.has(peer) || claimed === undefined) return { ip: peer, forwardedFor: peer };
  const hops = (Array.isArray(claimed) ? claimed.join(",") : claimed)
    .split(",")
    .map((hop) => plainAddress(hop.trim()))
    .filter((hop) => isIP(hop) !== 0);
  let ip = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    ip = hops[i] as string;
    if (!trustedProxies.has(ip)) break;
  }
  return { ip, forwardedFor: [...hops, peer].join(", ") };
}
