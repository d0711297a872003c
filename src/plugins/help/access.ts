import { LRUCache } from "lru-cache";
import { BackendUnavailableError, ConfigError } from "../../errors/gateway-error.js";
import { createUpstreamClient, parseJson, type UpstreamClientOptions } from "../auth/upstream-client.js";

export interface AccessCheckOptions extends UpstreamClientOptions {
  /** How long an answer per (token, path) is reused (default 10 s). */
  cacheTtlMs?: number;
  /** Most answers remembered (default 10 000). */
  cacheMax?: number;
}

/** Whether a token may do anything at all on a path (relative to /v1/). */
export type AccessCheck = (token: string, tokenId: string, path: string) => Promise<boolean>;

const CAPABILITIES_SELF = "/v1/sys/capabilities-self";

/**
 * Asks the backend, `POST /v1/sys/capabilities-self {"paths": [path]}` with the caller's token; any capability but
 * a lone "deny" is access. A 401/403 (the token died meanwhile) is no access; other failures are the backend's
 * outage (503), not the client's lack of rights. Answers are kept briefly per (tokenId, path), never per raw token,
 * and concurrent questions share one call.
 */
export function createAccessCheck(options: AccessCheckOptions): AccessCheck {
  const client = createUpstreamClient(options, "help.backend");
  const ttl = options.cacheTtlMs ?? 10_000;
  const max = options.cacheMax ?? 10_000;
  if (!(ttl > 0)) throw new ConfigError("help.cacheTtlMs: must be > 0");
  if (!(max > 0)) throw new ConfigError("help.cacheMax: must be > 0");
  const answers = new LRUCache<string, boolean>({ max, ttl });
  const inflight = new Map<string, Promise<boolean>>();

  const ask = async (token: string, path: string): Promise<boolean> => {
    const reply = await client.call({ method: "POST", path: CAPABILITIES_SELF, token, json: { paths: [path] } });
    if (reply.status === 401 || reply.status === 403) return false;
    const capabilities = reply.status === 200 ? readCapabilities(parseJson(reply.body), path) : undefined;
    if (capabilities === undefined) {
      throw new BackendUnavailableError(undefined, { cause: new Error(`capabilities-self answered ${reply.status}`) });
    }
    return capabilities.length > 0 && !capabilities.includes("deny");
  };

  return async (token, tokenId, path) => {
    // "\0" cannot occur in a validated path, so two (tokenId, path) pairs never share a key
    const key = `${tokenId}\0${path}`;
    const known = answers.get(key);
    if (known !== undefined) return known;
    let pending = inflight.get(key);
    if (pending === undefined) {
      pending = ask(token, path).then((allowed) => {
        answers.set(key, allowed);
        return allowed;
      });
      const registered = pending;
      inflight.set(key, registered);
      registered.then(
        () => inflight.delete(key),
        () => inflight.delete(key),
      );
    }
    return pending;
  };
}

/**
 * Vault answers `{"<path>": [...], "capabilities": [...], "data": {...the same...}}`; the per-path field is the
 * precise one, "capabilities" is what older versions send for a single path.
 */
function readCapabilities(body: unknown, path: string): string[] | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const data = typeof record.data === "object" && record.data !== null ? (record.data as Record<string, unknown>) : {};
  for (const candidate of [data[path], record[path], data.capabilities, record.capabilities]) {
    if (Array.isArray(candidate)) return candidate.filter((c): c is string => typeof c === "string");
  }
  return undefined;
}
