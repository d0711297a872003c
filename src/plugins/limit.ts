import { BackendUnavailableError, type GatewayError, RateLimitedError } from "../errors/gateway-error.js";
import { definePlugin, type Plugin, type Verdict } from "../pipeline/plugin.js";
import { rateLimitHeaders } from "../ratelimit/headers.js";
import { KeyBuilder, type KeyOptions } from "../ratelimit/keys.js";
import type { LimitDecision, LimitEntry, Limiter } from "../ratelimit/limiter.js";
import { compileRules, matchRules, type RateLimitRule } from "../ratelimit/rules.js";

export interface LimitPluginOptions {
  rules: readonly RateLimitRule[];
  /** Usually a FallbackLimiter over a RedisLimiter, or a MemoryLimiter without Redis. Closed with the plugin. */
  limiter: Limiter;
  /** Also send RateLimit-Limit/-Remaining/-Reset of earlier drafts, for older clients. Default false. */
  legacyHeaders?: boolean;
  /** Redis key prefix and identity-hash secret (keys.ts); the secret should be set, the same on every gateway. */
  keys?: KeyOptions;
}

/**
 * The rate-limit stage: asks the limiter once about every rule matching the path, puts RateLimit-Policy and
 * RateLimit on every answer (errors included) and stops a denied request before it reaches the backend.
 * Runs after auth, so token rules see the verified token id.
 * @example
 * const stage = limit({ rules: [{ name: "reads", paths: ["secret/*"], key: "token", limit: 100, periodMs: 60_000 }],
 *   limiter: new MemoryLimiter() });
 */
/** The limit stage, with its limiter in view (metrics read the limiter's mode at scrape time). */
export interface LimitPlugin extends Plugin {
  readonly limiter: Limiter;
}

export function limit(options: LimitPluginOptions): LimitPlugin {
  const rules = compileRules(options.rules); // bad configuration fails here, at build time, never per request
  const keys = new KeyBuilder(options.keys);
  const legacy = options.legacyHeaders ?? false;
  const { limiter } = options;
  const stage = definePlugin({
    name: "limit",
    async handle(ctx): Promise<Verdict> {
      const matched = matchRules(rules, ctx.path);
      if (matched.length === 0) return "continue";
      const entries: LimitEntry[] = [];
      for (const rule of matched) entries.push({ rule, key: keys.keyFor(rule, ctx.identity) });
      let decision: LimitDecision;
      try {
        decision = await limiter.take({ entries });
      } catch (error) {
        // a bare RedisLimiter with Redis down: the client is not at fault (FallbackLimiter never gets here)
        throw unavailable(1, error);
      }
      rateLimitHeaders(matched, decision, legacy, ctx.responseHeaders);
      // the access line, and the per-rule decision counters of the metrics, read this
      ctx.logFields.rateLimit = {
        allowed: decision.allowed,
        source: decision.source,
        ...(decision.allowed ? {} : { retryAfterMs: decision.retryAfterMs }),
        rules: decision.results.map((r) => ({ name: r.rule.name, allowed: r.allowed, remaining: r.remaining })),
      };
      if (decision.allowed) return "continue";
      throw refusal(decision);
    },
    close: () => limiter.close(),
  });
  return Object.assign(stage, { limiter });
}

/** What a denied decision answers: 429, or 503 when the limiter could not decide; Retry-After in whole seconds. */
export function refusal(decision: LimitDecision): GatewayError {
  const retryAfter = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return decision.unavailable ? unavailable(retryAfter) : new RateLimitedError(retryAfter);
}

/** 503 for a limiter that cannot decide: the client is not at fault, and may retry after `retryAfterSeconds`. */
export function unavailable(retryAfterSeconds: number, cause?: unknown): GatewayError {
  return new BackendUnavailableError("rate limiting is unavailable, try again later", {
    headers: { "retry-after": String(retryAfterSeconds) },
    ...(cause === undefined ? {} : { cause }),
  });
}
