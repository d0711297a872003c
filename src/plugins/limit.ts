import { BackendUnavailableError, type GatewayError, RateLimitedError } from "../errors/gateway-error.js";
import { LoggedFact, type RequestContext } from "../pipeline/context.js";
import { definePlugin, type Plugin, type Verdict } from "../pipeline/plugin.js";
import { rateLimitHeaders } from "../ratelimit/headers.js";
import { KeyBuilder, type KeyOptions } from "../ratelimit/keys.js";
import type { DecisionSource, LimitDecision, LimitEntry, Limiter, RuleResult } from "../ratelimit/limiter.js";
import { type CompiledRule, compileRules, matchRules, type RateLimitRule } from "../ratelimit/rules.js";

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
    handle(ctx): Verdict | Promise<Verdict> {
      const matched = matchRules(rules, ctx.path);
      if (matched.length === 0) return "continue";
      const entries: LimitEntry[] = new Array(matched.length);
      for (let i = 0; i < matched.length; i++) {
        const rule = matched[i] as CompiledRule;
        entries[i] = { rule, key: keys.keyFor(rule, ctx.identity) };
      }
      const startedAt = performance.now();
      let taken: Promise<LimitDecision>;
      try {
        taken = limiter.take({ entries });
      } catch (error) {
        noteLimitWait(ctx, startedAt);
        return rejectTake(error);
      }
      return taken.then(
        (decision) => {
          noteLimitWait(ctx, startedAt);
          return answer(ctx, matched, decision, legacy);
        },
        (error: unknown) => {
          noteLimitWait(ctx, startedAt);
          return rejectTake(error);
        },
      );
    },
    close: () => limiter.close(),
  });
  return Object.assign(stage, { limiter });
}

/**
 * Adds the time since `startedAt` to how long the request waited for rate-limit decisions (the rules', and the
 * token-lookup budget's before a lookup), for the access line and the wait histogram: with Redis, the gathering of
 * a turn's takes and the script's round trip, most of what a limit adds to a request's latency (and its tail, on a
 * busy machine). To 0.01 ms: the histogram's finest bucket is 0.1 ms.
 */
export function noteLimitWait(ctx: RequestContext, startedAt: number): void {
  const before = ctx.logFields.rateLimitMs;
  const waited = performance.now() - startedAt + (typeof before === "number" ? before : 0);
  ctx.logFields.rateLimitMs = Math.round(waited * 100) / 100;
}

/** Puts the decision on the answer and in the access line; stops a denied request. */
function answer(
  ctx: RequestContext,
  matched: readonly CompiledRule[],
  decision: LimitDecision,
  legacy: boolean,
): Verdict {
  rateLimitHeaders(matched, decision, legacy, ctx.responseHeaders);
  // the access line, and the per-rule decision counters of the metrics, read this
  ctx.logFields.rateLimit = decisionFact(decision);
  if (decision.allowed) return "continue";
  throw refusal(decision);
}

/** A limiter that failed (a bare RedisLimiter with Redis down; FallbackLimiter never does): not the client's fault. */
function rejectTake(error: unknown): never {
  throw unavailable(1, error);
}

/** The decision as the access line tells it: each rule's name, verdict and remaining requests. */
export interface DecisionFields {
  readonly allowed: boolean;
  readonly source: DecisionSource;
  /** When denied. */
  readonly retryAfterMs?: number;
  readonly rules: readonly { readonly name: string; readonly allowed: boolean; readonly remaining: number }[];
}

/** The decision's log fact, its JSON written alongside (every limited request logs one: see LoggedFact). */
export function decisionFact(decision: LimitDecision): LoggedFact<DecisionFields> {
  const { results, source } = decision;
  const rules: DecisionFields["rules"][number][] = new Array(results.length);
  let rulesJson = "";
  for (let i = 0; i < results.length; i++) {
    const { rule, allowed, remaining } = results[i] as RuleResult;
    rules[i] = { name: rule.name, allowed, remaining };
    const item = `{"name":${rule.jsonName},"allowed":${allowed},"remaining":${jsonNumber(remaining)}}`;
    rulesJson = i === 0 ? item : `${rulesJson},${item}`;
  }
  if (decision.allowed) {
    return new LoggedFact(
      { allowed: true, source, rules },
      `{"allowed":true,"source":"${source}","rules":[${rulesJson}]}`,
    );
  }
  const { retryAfterMs } = decision;
  return new LoggedFact(
    { allowed: false, source, retryAfterMs, rules },
    `{"allowed":false,"source":"${source}","retryAfterMs":${jsonNumber(retryAfterMs)},"rules":[${rulesJson}]}`,
  );
}

/** A number as JSON.stringify writes it (a limiter of a plugin's own might report NaN). */
function jsonNumber(value: number): number | string {
  return Number.isFinite(value) ? value : "null";
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
