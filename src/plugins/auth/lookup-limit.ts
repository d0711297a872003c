import type { RequestContext } from "../../pipeline/context.js";
import type { KeyBuilder } from "../../ratelimit/keys.js";
import type { LimitDecision, Limiter } from "../../ratelimit/limiter.js";
import { type CompiledRule, compileRules } from "../../ratelimit/rules.js";
import { noteLimitWait, refusal, unavailable } from "../limit.js";

// A made-up token costs the backend a lookup-self (the negative cache only helps when a token repeats), so a client
// sending a new one with every request could make the gateway flood the backend with lookups, or guess tokens as
// fast as the backend answers. Each lookup a client address causes is counted, in the same limiter (Redis, shared
// by every gateway) as the rate-limit rules; past its budget the address is answered 429 without a lookup. Tokens
// the cache knows, valid or not, and re-checks of tokens found valid within the hour (TokenCache) count nothing.

export interface TokenLookupLimit {
  /** Lookups per period per client address, on average. */
  readonly limit: number;
  readonly periodMs: number;
  /** Lookups at once from a rested state; defaults to `limit`. */
  readonly burst?: number;
}

/** The rule's name in Redis keys and logs. */
export const TOKEN_LOOKUPS_RULE = "token-lookups";

export interface LookupGuard {
  /** Counts one lookup for the request's client address; throws 429 (or 503) when it is over its budget. */
  admit(ctx: RequestContext): Promise<void>;
  /** Closes the limiter when the guard owns it (no rate-limit stage shares it). */
  close(): Promise<void>;
  /** What it counts in (metrics read its mode). */
  readonly limiter: Limiter;
}

export function lookupGuard(
  settings: TokenLookupLimit,
  limiter: Limiter,
  keys: KeyBuilder,
  ownsLimiter: boolean,
): LookupGuard {
  const [compiled] = compileRules([{ name: TOKEN_LOOKUPS_RULE, paths: ["*"], key: "ip", ...settings }]);
  // strict, as login rules are (its local share in a Redis outage rounds down): guessing is what it stops
  const rule: CompiledRule = { ...(compiled as CompiledRule), strict: true };
  return {
    async admit(ctx) {
      let decision: LimitDecision;
      const startedAt = performance.now();
      try {
        decision = await limiter.take({ entries: [{ rule, key: keys.keyFor(rule, ctx.identity) }] });
      } catch (error) {
        throw unavailable(1, error); // a bare RedisLimiter with Redis down (FallbackLimiter never throws)
      } finally {
        noteLimitWait(ctx, startedAt);
      }
      if (decision.allowed) return;
      ctx.logFields.rateLimit = {
        allowed: false,
        source: decision.source,
        retryAfterMs: decision.retryAfterMs,
        rules: [{ name: rule.name, allowed: false }],
      };
      throw refusal(decision);
    },
    close: () => (ownsLimiter ? limiter.close() : Promise.resolve()),
    limiter,
  };
}
