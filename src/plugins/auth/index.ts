import { ForbiddenError, UnauthorizedError } from "../../errors/gateway-error.js";
import { definePlugin, type Plugin, type Verdict } from "../../pipeline/plugin.js";
import type { Limiter } from "../../ratelimit/limiter.js";
import { createPathList, DEFAULT_ALLOW_LIST, DEFAULT_LOGIN_PATHS, type PathList } from "./allow-list.js";
import { TokenCache, type TokenCacheOptions } from "./cache.js";
import { type CookieSettings, loginHook, revokeHook } from "./cookies.js";
import type { LookupGuard } from "./lookup-limit.js";
import { createOriginCheck, isUnsafeMethod } from "./origin.js";
import { DEFAULT_TOKEN_SOURCES, findToken, type TokenSources } from "./token.js";
import { ConnectionTokenIds, createTokenHasher } from "./token-id.js";
import type { TokenVerifier } from "./verifier.js";

export interface AuthOptions {
  /** Decides whether a token is good: backendVerifier() or staticVerifier(). */
  verifier: TokenVerifier;
  /** Where clients may send their token (default X-Nomad-Token, X-Vault-Token, cookie "token"). */
  tokenSources?: TokenSources;
  /** Paths reached without a token, relative to /v1/ (default DEFAULT_ALLOW_LIST). */
  allowList?: readonly string[];
  /** Login endpoints whose answers set the token cookie (default "auth/*\/login/**"). */
  loginPaths?: readonly string[];
  /** Bounds of the verification cache. */
  cache?: TokenCacheOptions;
  /** Key of the token hash (>= 32 bytes); give every process sharing a Redis the same one. Random if absent. */
  secret?: string | Uint8Array;
  /** Mark the cookie Secure (default true); false only for a plain-HTTP development listener. */
  secureCookie?: boolean;
  /** The gateway's own origins for the CSRF check (default: https://<Host>, plus http://<Host> on a plain listener). */
  allowedOrigins?: readonly string[];
  /** Counts the verifier calls (cache misses) of each client address; closed with the stage. */
  lookupGuard?: LookupGuard;
}

export interface AuthPlugin extends Plugin {
  /** The verification cache: clear() it after reloading a static token file. */
  readonly cache: TokenCache;
  /** The compiled allow-list; give it to help() so both stages agree on what is anonymous. */
  readonly allowList: PathList;
  /** The limiter of the token-lookup budget, when there is one (metrics read its mode). */
  readonly limiter: Limiter | undefined;
}

const REVOKE_SELF = "/v1/auth/token/revoke-self";

/**
 * The auth stage. On an allow-listed path the request goes on anonymously: a token it carries is neither read,
 * checked nor forwarded (ctx.token stays unset, and the proxy strips the client's copies), as Vault's login and
 * seal endpoints ignore tokens. Because such requests reach the backend without any token, a too-broad allow-list
 * can never lend a client more than anonymous rights. Everywhere else a token is required and verified through the
 * cache; on success ctx.token and ctx.identity.tokenId are set. Forwarded headers are the proxy's business.
 * @example
 * const authStage = auth({ verifier: backendVerifier({ upstream, agent }), secret: config.secret });
 */
export function auth(options: AuthOptions): AuthPlugin {
  const sources = options.tokenSources ?? DEFAULT_TOKEN_SOURCES;
  const allowList = createPathList(options.allowList ?? DEFAULT_ALLOW_LIST, "auth.allowList");
  const loginPaths = createPathList(options.loginPaths ?? DEFAULT_LOGIN_PATHS, "auth.loginPaths");
  const cache = new TokenCache(options.verifier, createTokenHasher(options.secret), options.cache);
  const origins = createOriginCheck(options.allowedOrigins);
  const cookie: CookieSettings = { name: sources.cookie, secure: options.secureCookie ?? true };
  const connectionIds = new ConnectionTokenIds((token) => cache.idOf(token));
  const guard = options.lookupGuard;

  const stage = definePlugin({
    name: "auth",
    async handle(ctx): Promise<Verdict> {
      if (allowList.matches(ctx.path)) {
        // the token is not read at all here: it is dropped anyway, and a browser stuck with two token cookies
        // must still be able to log in and replace them
        ctx.logFields.auth = "anonymous";
        // a login posted from another origin gets its answer, but no cookie: otherwise a foreign page could log
        // the victim's browser into the attacker's account (login CSRF)
        if (loginPaths.matches(ctx.path) && !origins.isCrossSite(ctx.req, ctx.secure)) {
          ctx.responseHooks.push(loginHook(cookie, cache));
        }
        return "continue";
      }
      // conflicting, repeated or malformed tokens are a 400: never a guess at which one was meant
      const found = findToken(ctx.req.headers, ctx.req.rawHeaders, sources);
      if (found === undefined) throw new UnauthorizedError("missing client token");
      // checked before the lookup: a refused request costs the backend nothing
      if (found.source === "cookie" && isUnsafeMethod(ctx.req.method) && origins.isCrossSite(ctx.req, ctx.secure)) {
        throw new ForbiddenError("cross-site request refused");
      }
      // a token the cache does not know costs the backend a lookup: counted per client address, refused past budget
      const { result, tokenId } = await cache.check(
        found.token,
        connectionIds.idOf(ctx.req.socket, found.token),
        guard && (() => guard.admit(ctx)),
      );
      if (!result.valid) throw new UnauthorizedError("invalid or expired token");
      ctx.token = found.token;
      ctx.identity.tokenId = tokenId;
      ctx.logFields.auth = found.source;
      if (ctx.path === REVOKE_SELF) ctx.responseHooks.push(revokeHook(cookie, cache, found.token));
      return "continue";
    },
    close: () => guard?.close() ?? Promise.resolve(),
  });
  return Object.assign(stage, { cache, allowList, limiter: guard?.limiter });
}

export type { PathList } from "./allow-list.js";
export { createPathList, DEFAULT_ALLOW_LIST, DEFAULT_LOGIN_PATHS } from "./allow-list.js";
export type { TokenCacheOptions } from "./cache.js";
export { TokenCache } from "./cache.js";
export { type LookupGuard, lookupGuard, TOKEN_LOOKUPS_RULE, type TokenLookupLimit } from "./lookup-limit.js";
export type { UpstreamClientOptions } from "./upstream-client.js";
export type { TokenVerifier, ValidToken, VerifyResult } from "./verifier.js";
export { backendVerifier } from "./verifiers/backend.js";
export { type StaticVerifier, type StaticVerifierOptions, staticVerifier } from "./verifiers/static.js";
