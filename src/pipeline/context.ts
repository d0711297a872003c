import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

/** Who is asking, as far as the gateway knows. Never holds a raw token. */
export interface ClientIdentity {
  /** The client's IP address: the socket peer, or the first untrusted hop of X-Forwarded-For behind a trusted proxy. */
  ip: string;
  /** A keyed hash of the token, once authentication has verified it. */
  tokenId?: string;
  /** The subject of a verified client certificate (mTLS). */
  certSubject?: string;
}

/** What the proxy stage tells response hooks about the backend's answer before it goes to the client. */
export interface UpstreamResponse {
  readonly status: number;
  /** Mutable: a hook may add or remove headers (e.g. Set-Cookie on a login). */
  readonly headers: OutgoingHttpHeaders;
  /** The whole body, only when some hook asked for it and the body fitted the capture bound. */
  readonly body?: Buffer;
}

export interface ResponseHook {
  /** Buffer the (bounded) body of a successful response for this hook; success bodies otherwise stream. */
  readonly wantsBody: boolean;
  apply(response: UpstreamResponse): void;
}

/** One request's state as it passes through the plugins. */
export interface RequestContext {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Whether the client reached us over TLS. */
  readonly secure: boolean;
  readonly identity: ClientIdentity;
  /** The X-Forwarded-For chain the backend receives: a trusted proxy's chain plus its address, or just the peer. */
  readonly forwardedFor: string;
  /**
   * The request path, validated once by the route stage. Every later stage matches on this string and the proxy
   * forwards exactly this string, so what was authorized is what the backend sees.
   */
  path: string;
  /** The raw query string (without "?"), forwarded as received. */
  query: string;
  /** The verified client token, set by the auth stage; forwarded only in the backend's token header. */
  token?: string;
  /** Headers the proxy sets on the forwarded request, after dropping the client's own copies. */
  readonly upstreamHeaders: Record<string, string>;
  /** Headers every answer to this request carries, the gateway's own errors included (e.g. RateLimit-*). */
  readonly responseHeaders: Record<string, string>;
  /** Called by the proxy stage, in order, before a backend response is sent on. */
  readonly responseHooks: ResponseHook[];
  /** Facts for the access log, added by the stages (e.g. the rate-limit decision), plain or as a LoggedFact. */
  readonly logFields: Record<string, unknown>;
}

/**
 * A fact for the access log whose JSON its stage wrote along with it, for a fact logged on every request: the access
 * line splices the text in, where JSON.stringify would walk the object in V8's generic serializer (for the rate-limit
 * decision, 6-9 k instructions per request, more than the rest of the limit's bookkeeping). Any other serializer
 * (another logger) gets the value through toJSON; readers of ctx.logFields take it with `factValue`.
 */
export class LoggedFact<T> {
  readonly value: T;
  /** `value` as JSON, exactly as JSON.stringify would write it (one line: the access line carries it as it is). */
  readonly json: string;

  constructor(value: T, json: string) {
    this.value = value;
    this.json = json;
  }

  toJSON(): T {
    return this.value;
  }
}

/** A fact of ctx.logFields as its stage gave it: the value of a LoggedFact, anything else as it is. */
export function factValue(fact: unknown): unknown {
  return fact instanceof LoggedFact ? fact.value : fact;
}

export function searchParams(ctx: RequestContext): URLSearchParams {
  return new URLSearchParams(ctx.query);
}
