// Response fields of draft-ietf-httpapi-ratelimit-headers-10: both are Structured Field Lists (RFC 8941) whose
// members are Strings naming a policy, with Integer parameters:
//   RateLimit-Policy: "burst";q=10;w=1, "daily";q=1000;w=86400     q quota, w window in seconds
//   RateLimit: "burst";r=3;t=1, "daily";r=997;t=87                 r remaining, t seconds until more quota
import type { LimitDecision, RuleResult } from "./limiter.js";
import type { CompiledRule } from "./rules.js";

/** Every policy that applied to the request, whatever the decision. */
export function policyField(rules: readonly CompiledRule[]): string {
  return rules.length === 1 ? (rules[0] as CompiledRule).policyItem : rules.map((rule) => rule.policyItem).join(", ");
}

/** The current service limit of each rule the limiter reported on; undefined when it reported none. */
export function limitField(results: readonly RuleResult[]): string | undefined {
  if (results.length === 0) return undefined;
  let field = limitItem(results[0] as RuleResult);
  for (let i = 1; i < results.length; i++) field = `${field}, ${limitItem(results[i] as RuleResult)}`;
  return field;
}

function limitItem(result: RuleResult): string {
  const item = `${result.rule.quotedName};r=${result.remaining}`;
  // t is optional and means "until additional quota": nothing to announce when the rule is at its full burst
  return result.refillMs > 0 ? `${item};t=${Math.ceil(result.refillMs / 1000)}` : item;
}

/**
 * The headers one decision puts on the answer. With `legacy`, also RateLimit-Limit/-Remaining/-Reset of earlier
 * drafts, which hold one policy only: the most restrictive (fewest remaining, then longest reset).
 */
export function rateLimitHeaders(
  rules: readonly CompiledRule[],
  decision: LimitDecision,
  legacy: boolean,
  /** Where to put them, e.g. the response headers being gathered; default a new object. */
  headers: Record<string, string> = {},
): Record<string, string> {
  headers["RateLimit-Policy"] = policyField(rules);
  const limits = limitField(decision.results);
  if (limits !== undefined) headers.RateLimit = limits;
  if (!legacy) return headers;
  const tightest = [...decision.results].sort((a, b) => a.remaining - b.remaining || b.resetMs - a.resetMs)[0];
  if (tightest !== undefined) {
    headers["RateLimit-Limit"] = String(tightest.rule.limit);
    headers["RateLimit-Remaining"] = String(tightest.remaining);
    headers["RateLimit-Reset"] = String(Math.ceil(tightest.resetMs / 1000));
  }
  return headers;
}
