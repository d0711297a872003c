import { BackendUnavailableError } from "../../../errors/gateway-error.js";
import { createUpstreamClient, parseJson, type UpstreamClientOptions } from "../upstream-client.js";
import type { TokenVerifier, VerifyResult } from "../verifier.js";

const LOOKUP_SELF = "/v1/auth/token/lookup-self";

/**
 * Asks the backend itself: `GET /v1/auth/token/lookup-self` with the token. 200 is valid (with `data.ttl`, 0 for a
 * token that does not expire); 401/403 is invalid; anything else (5xx, a sealed 503, a refused connection, a
 * timeout, a 200 that is not Vault's JSON) throws BackendUnavailableError, since an outage says nothing about the
 * token and must not log every client out.
 * @example
 * const verifier = backendVerifier({ upstream: new URL("https://127.0.0.1:8201"), agent, timeoutMs: 2000 });
 */
export function backendVerifier(options: UpstreamClientOptions): TokenVerifier {
  const client = createUpstreamClient(options, "auth.backend");
  return {
    async verify(token) {
      const reply = await client.call({ method: "GET", path: LOOKUP_SELF, token });
      if (reply.status === 401 || reply.status === 403) return { valid: false };
      if (reply.status !== 200) {
        throw new BackendUnavailableError(undefined, { cause: new Error(`lookup-self answered ${reply.status}`) });
      }
      const result = readLookup(parseJson(reply.body));
      if (result === undefined) {
        throw new BackendUnavailableError(undefined, { cause: new Error("lookup-self answered 200 without data") });
      }
      return result;
    },
  };
}

/** The parts of Vault's lookup-self answer we use; undefined when the shape is not Vault's. */
function readLookup(body: unknown): VerifyResult | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const data = (body as { data?: unknown }).data;
  if (typeof data !== "object" || data === null) return undefined;
  const { ttl, policies } = data as { ttl?: unknown; policies?: unknown };
  const ttlSeconds = typeof ttl === "number" && Number.isFinite(ttl) && ttl >= 0 ? ttl : undefined;
  const names = Array.isArray(policies) ? policies.filter((p): p is string => typeof p === "string") : undefined;
  return {
    valid: true,
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
    ...(names === undefined ? {} : { policies: names }),
  };
}
