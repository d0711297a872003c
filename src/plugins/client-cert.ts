import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { ConfigError, UnauthorizedError } from "../errors/gateway-error.js";
import type { RequestContext } from "../pipeline/context.js";
import { definePlugin, type Plugin } from "../pipeline/plugin.js";
import type { ClientCertMode } from "../tls/context.js";

export interface ClientCertOptions {
  /** "off": ignore certificates; "optional": no certificate passes, an untrusted one is refused; "required". */
  mode: ClientCertMode;
}

/** Header the verified certificate is forwarded in (RFC 9440); the proxy drops any copy the client sent. */
export const CLIENT_CERT_HEADER = "client-cert";

// OpenSSL's verify codes for the cases a client can fix itself, worded for them
const REASONS: Readonly<Record<string, string>> = {
  CERT_REVOKED: "client certificate has been revoked",
  CERT_HAS_EXPIRED: "client certificate has expired",
  CERT_NOT_YET_VALID: "client certificate is not yet valid",
  INVALID_PURPOSE: "client certificate is not valid for client authentication",
};

/**
 * Checks the TLS client certificate the listener requested (it verifies against the CA, and the CRL if any) and
 * records the verified subject in ctx.identity.certSubject and the Client-Cert upstream header.
 * @example
 * const plugins = [route(), clientCert({ mode: "required" }), auth(...), proxy(...)];
 */
export function clientCert(options: ClientCertOptions): Plugin {
  if (!["off", "optional", "required"].includes(options.mode)) {
    throw new ConfigError(`clientCert: mode must be "off", "optional" or "required", not "${String(options.mode)}"`);
  }
  return definePlugin({
    name: "client-cert",
    handle(ctx) {
      if (options.mode === "off") return "continue";
      const socket = tlsSocket(ctx);
      const cert = socket?.getPeerCertificate(); // {} when the client sent none
      if (socket === undefined || cert?.raw === undefined) {
        if (options.mode === "required") throw new UnauthorizedError("client certificate required");
        return "continue";
      }
      // an untrusted certificate is refused even in optional mode: a client that offers an identity we cannot
      // verify is misconfigured or forging, and letting it through anonymous would hide that
      if (!socket.authorized) throw new UnauthorizedError(reason(socket));
      ctx.identity.certSubject = subjectString(new X509Certificate(cert.raw));
      // RFC 9440: a structured-field byte sequence, ":" + base64 of the DER + ":"
      ctx.upstreamHeaders[CLIENT_CERT_HEADER] = `:${cert.raw.toString("base64")}:`;
      return "continue";
    },
  });
}

function tlsSocket(ctx: RequestContext): TLSSocket | undefined {
  const socket = ctx.req.socket as Partial<TLSSocket>;
  return typeof socket.getPeerCertificate === "function" ? (socket as TLSSocket) : undefined;
}

function reason(socket: TLSSocket): string {
  // typed as Error, but Node sets the OpenSSL code as a string
  const error = socket.authorizationError as unknown;
  const code = typeof error === "string" ? error : ((error as { code?: string } | null)?.code ?? "unknown");
  return REASONS[code] ?? `client certificate is not trusted: ${code}`;
}

/** RFC 4514 order (most specific first) from Node's one-RDN-per-line printout, which already escapes values. */
export function subjectString(cert: X509Certificate): string {
  return cert.subject.split("\n").reverse().join(",");
}
