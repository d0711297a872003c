import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequestError, GatewayError } from "../../errors/gateway-error.js";

/** The methods Vault's HTTP API serves (LIST arrives rewritten as GET ...?list=true, see src/server/list-verb.ts). */
export const ALLOWED_METHODS: readonly string[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export class MethodNotAllowedError extends GatewayError {
  override name = "MethodNotAllowedError";
  constructor(allowed: readonly string[]) {
    super(405, "PORTCULLIS_METHOD_NOT_ALLOWED", "method not allowed", { headers: { allow: allowed.join(", ") } });
  }
}

export class VersionNotSupportedError extends GatewayError {
  override name = "VersionNotSupportedError";
  constructor() {
    super(505, "PORTCULLIS_HTTP_VERSION", "only HTTP/1.1 and HTTP/1.0 are served");
  }
}

/**
 * Refuses what Node's parser lets through but a backend or a second proxy could frame differently. Node already
 * refuses Content-Length with Transfer-Encoding, repeated or non-numeric Content-Length, a repeated
 * Transfer-Encoding and one whose last coding is not chunked; it does hand over `Transfer-Encoding: identity`,
 * `gzip, chunked` and `xchunked` (and then fails on the body), HTTP/0.9 and "HTTP/2.0" request lines, and TRACE or
 * WebDAV methods. Each of those is answered here, and the connection is closed: when the framing of one request is
 * in doubt, so is the start of the next one.
 */
export function checkFraming(req: IncomingMessage, res: ServerResponse, methods: readonly string[]): void {
  const refuse = (error: GatewayError): never => {
    res.shouldKeepAlive = false;
    throw error;
  };
  if (req.httpVersion !== "1.1" && req.httpVersion !== "1.0") refuse(new VersionNotSupportedError());
  const te = req.headers["transfer-encoding"];
  // we re-frame bodies chunked towards the backend; any other coding would be silently dropped or misread there
  if (te !== undefined && te.trim().toLowerCase() !== "chunked") {
    refuse(new BadRequestError("unsupported Transfer-Encoding: only chunked is accepted"));
  }
  // RFC 9112 §3.2: a 1.1 request without Host is a 400 (Node's own check answers with an empty body, so the
  // listener turns it off and the rule lives here, answered in the errors shape)
  if (req.httpVersion === "1.1" && req.headers.host === undefined) refuse(new BadRequestError("missing Host header"));
  if (!methods.includes(req.method ?? "")) refuse(new MethodNotAllowedError(methods));
}
