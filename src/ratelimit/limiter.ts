import type { CompiledRule } from "./rules.js";

/** One rule that applies to a request, with the key (rule + identity) it counts under. */
export interface LimitEntry {
  readonly rule: CompiledRule;
  readonly key: string;
}

/** Every rule that matched one request: all are checked and counted together, or none is counted. */
export interface LimitRequest {
  readonly entries: readonly LimitEntry[];
}

/** The state of one rule after a decision. */
export interface RuleResult {
  readonly rule: CompiledRule;
  readonly key: string;
  /** Whether this rule alone would have admitted the request. */
  readonly allowed: boolean;
  /** Requests this rule still admits right now. */
  readonly remaining: number;
  /** Milliseconds until `remaining` grows by one (0 when already at burst); for a denying rule, the retry delay. */
  readonly refillMs: number;
  /** Milliseconds until the rule is back at its full burst. */
  readonly resetMs: number;
}

/** Who answered: Redis, a MemoryLimiter, the fallback while Redis is down, or the cache of keys known blocked. */
export type DecisionSource = "redis" | "memory" | "fallback" | "blocked";

export interface LimitDecision {
  readonly allowed: boolean;
  /** Denied only because a rule fails closed while Redis is down: the client is not at fault (503, not 429). */
  readonly unavailable: boolean;
  /** When denied, milliseconds until a retry can succeed; 0 when allowed. */
  readonly retryAfterMs: number;
  /**
   * One entry per rule the limiter could evaluate, in request order. Rules it knows nothing about (failing open, or
   * not asked because another key is known blocked) are left out rather than reported with made-up numbers.
   */
  readonly results: readonly RuleResult[];
  readonly source: DecisionSource;
}

/**
 * Decides whether one request may pass.
 * @example
 * const decision = await limiter.take({ entries: [{ rule, key: keys.keyFor(rule, ctx.identity) }] });
 */
export interface Limiter {
  take(request: LimitRequest): Promise<LimitDecision>;
  close(): Promise<void>;
}

/** A limiter behind a network hop, which a FallbackLimiter can probe for recovery. */
export interface RemoteLimiter extends Limiter {
  /**
   * When set, every take and ping settles within 1.25 times this many milliseconds, failing when the other side is
   * late; a FallbackLimiter with a timeout no shorter then keeps no deadline of its own on takes.
   */
  readonly timeoutMs?: number | undefined;
  ping(): Promise<void>;
}

/** Combines rule results: the request passes only if every rule admits it. */
export function decide(results: readonly RuleResult[], source: DecisionSource): LimitDecision {
  let allowed = true;
  let retryAfterMs = 0;
  for (const result of results) {
    if (result.allowed) continue;
    allowed = false;
    retryAfterMs = Math.max(retryAfterMs, result.refillMs);
  }
  return { allowed, unavailable: false, retryAfterMs, results, source };
}
