import { permissionDenied, type Reply } from "../http.js";
import { type Capability, capabilitiesOn, grants } from "../policy.js";
import type { Seal } from "../seal.js";
import type { Storage } from "../storage.js";
import type { ResolvedToken } from "../tokens.js";

/**
 * The operations Vault routes on. PUT arrives as POST (Vault treats them alike), and LIST is a GET with
 * `?list=true`: Node's HTTP parser rejects the LIST verb before any handler sees it.
 */
export type Operation = "GET" | "HEAD" | "POST" | "DELETE" | "LIST";

export interface RequestContext {
  readonly operation: Operation;
  /** the path after `/v1/`, percent-decoded */
  readonly path: string;
  /** the route pattern's captures */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** the JSON body; `{}` for GET and for an empty body */
  readonly body: Readonly<Record<string, unknown>>;
  /** the caller's token when it sent one that is alive */
  readonly token: ResolvedToken | undefined;
  readonly storage: Storage;
  readonly seal: Seal;
}

export interface Route {
  readonly pattern: RegExp;
  readonly operations: readonly Operation[];
  /** reachable without a token (health, seal status, unseal, logins) */
  readonly unauthenticated?: boolean;
  /** answered while sealed (health, seal status, unseal) */
  readonly whileSealed?: boolean;
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}

export function capabilitiesOf(ctx: RequestContext, token: ResolvedToken, path: string): readonly string[] {
  return capabilitiesOn(ctx.storage.policies, token.record.policies, path);
}

/**
 * The one access check: the caller's token must grant every capability in `needed` on `path`. KV, policy, user
 * and token endpoints all ask here, and `sys/capabilities-self` answers from the same function, so what it
 * reports is what is enforced.
 */
export function authorize(ctx: RequestContext, path: string, ...needed: Capability[]): ResolvedToken {
  const token = ctx.token;
  if (token === undefined || !grants(capabilitiesOf(ctx, token, path), needed)) throw permissionDenied();
  return token;
}

/** Vault asks for `create` to write where nothing is yet, and `update` to overwrite. */
export const writeCapability = (exists: boolean): Capability => (exists ? "update" : "create");

export const optionalString = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
