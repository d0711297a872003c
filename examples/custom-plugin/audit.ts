// A custom stage for Portcullis: an audit trail of who did what, placed just before "proxy".
// In your project, import from "portcullis" instead of "../../src/index.js".
import { definePlugin, ForbiddenError, type Plugin, type RequestContext } from "../../src/index.js";

/** One audit record: who (a keyed hash of the token, never the token), what, and the request id to correlate. */
export interface AuditRecord {
  readonly requestId: string;
  readonly at: string;
  readonly method: string;
  /** The normalized path: exactly what was authorized and what the backend receives. */
  readonly path: string;
  readonly tokenId: string | undefined;
  readonly ip: string;
}

export interface AuditOptions {
  /** Where records go: a log, a queue, a SIEM. Called once per request that reaches this stage. */
  record(entry: AuditRecord): void;
  /** Paths (normalized, e.g. "/v1/secret/prod/") under which DELETE is refused outright. */
  protectedPrefixes?: readonly string[];
}

/**
 * Runs after route, auth and limit: ctx.path is normalized and ctx.identity.tokenId set for authenticated requests.
 * It records the request, refuses DELETE under protected prefixes (any stage may answer: a thrown GatewayError
 * becomes a `{"errors": [...]}` answer), tags the answer with X-Audit-Id and passes the id to the backend.
 */
export function audit(options: AuditOptions): Plugin {
  const protectedPrefixes = options.protectedPrefixes ?? [];
  return definePlugin({
    name: "audit",
    handle(ctx: RequestContext) {
      options.record({
        requestId: ctx.id,
        at: new Date().toISOString(),
        method: ctx.req.method ?? "",
        path: ctx.path,
        tokenId: ctx.identity.tokenId,
        ip: ctx.identity.ip,
      });
      // every answer to this request carries it, the gateway's own errors included
      ctx.responseHeaders["x-audit-id"] = ctx.id;
      if (ctx.req.method === "DELETE" && protectedPrefixes.some((prefix) => ctx.path.startsWith(prefix))) {
        throw new ForbiddenError("deleting here is not allowed through this gateway");
      }
      // the proxy sets these on the forwarded request, after dropping any copy the client sent
      ctx.upstreamHeaders["x-request-id"] = ctx.id;
      return "continue";
    },
  });
}
