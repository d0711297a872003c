import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { RequestContext } from "../../pipeline/context.js";
import { withoutCookie } from "../auth/token.js";

// RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. (transfer-encoding is re-added below
// for request framing; Node de-chunks what it reads and re-frames what it writes.)
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface UpstreamHeaderOptions {
  /** The backend's token header, lower case (x-vault-token for Vault and OpenBao). */
  readonly tokenHeader: string;
  /** Every header a client may send a token in: none of them is forwarded as the client sent it. */
  readonly clientTokenHeaders: readonly string[];
  readonly tokenCookie: string;
}

/** Header names a client must not set for the backend: the gateway alone speaks for them. */
function gatewayOwned(options: UpstreamHeaderOptions): Set<string> {
  return new Set([
    ...options.clientTokenHeaders,
    options.tokenHeader,
    // Vault reads "Authorization: Bearer <token>" when X-Vault-Token is absent: a token the gateway never checked
    "authorization",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-real-ip",
    "forwarded",
    "client-cert",
    "client-cert-chain",
    // Node answered any Expect: 100-continue itself; forwarding it would make the backend wait for a second one
    "expect",
  ]);
}

const NO_TOKENS: ReadonlySet<string> = new Set();

// A client may name any header in Connection to have it dropped at this hop, but never the ones that frame or route
// the request: "Connection: content-length" would otherwise send the body unframed, and the backend would read it
// as a second request that no stage of the gateway checked (request smuggling).
const NEVER_DROPPED = new Set(["content-length", "transfer-encoding", "host"]);

// Most requests carry no Connection header, or only "keep-alive"/"close": nothing to parse or allocate then
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined || value === "keep-alive" || value === "close") return NO_TOKENS;
  const text = Array.isArray(value) ? value.join(",") : value;
  return new Set(
    text
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== "" && !NEVER_DROPPED.has(t)),
  );
}

/** Builds the headers the backend receives: the client's, cleaned, plus what the gateway vouches for. */
export function createUpstreamHeaderBuilder(options: UpstreamHeaderOptions) {
  const owned = gatewayOwned(options);
  return (ctx: RequestContext): OutgoingHttpHeaders => {
    const source = ctx.req.headers;
    const dropped = connectionTokens(source.connection);
    const out: OutgoingHttpHeaders = {};
    for (const name in source) {
      if (HOP_BY_HOP.has(name) || owned.has(name) || dropped.has(name)) continue;
      out[name] = source[name];
    }
    // the body keeps the framing it came with: chunked in, chunked out (never a guessed length)
    if (source["transfer-encoding"] !== undefined) out["transfer-encoding"] = "chunked";
    const cookie = withoutCookie(source.cookie, options.tokenCookie);
    if (cookie === undefined) delete out.cookie;
    else out.cookie = cookie;
    if (ctx.token !== undefined) out[options.tokenHeader] = ctx.token;
    out["x-forwarded-for"] = ctx.forwardedFor;
    out["x-forwarded-proto"] = ctx.secure ? "https" : "http";
    if (source.host !== undefined) out["x-forwarded-host"] = source.host;
    Object.assign(out, ctx.upstreamHeaders);
    return out;
  };
}

/** The backend's response headers that may reach the client. */
export function downstreamHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const dropped = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}
