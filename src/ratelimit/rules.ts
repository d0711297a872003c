import { ConfigError } from "../errors/gateway-error.js";
import { compilePattern, type PathMatcher, patternProblem } from "./pattern.js";

/** Which identity a rule counts by. `token` without a verified token, and `cert` without a client cert, count by ip. */
export type RuleKeyKind = "token" | "cert" | "ip" | "global";

/** What a rule does while Redis cannot answer: count in this process, let everything through, or refuse (503). */
export type RuleFallback = "local" | "open" | "closed";

/**
 * A rate-limit rule as configured.
 * @example
 * const rule: RateLimitRule = { name: "reads", paths: ["secret/*"], key: "token", limit: 100, periodMs: 60_000 };
 */
export interface RateLimitRule {
  /** Names the policy in RateLimit-* headers and in Redis keys: 1-64 of `A-Z a-z 0-9 _ . -`, unique. */
  name: string;
  // Patterns on the path after "/v1/", e.g. "secret/*", "auth/*/login", "*"; pattern.ts defines the syntax.
  paths: string[];
  key: RuleKeyKind;
  /** Requests admitted per period, on average. */
  limit: number;
  periodMs: number;
  /** Requests admitted at once from a rested state; defaults to `limit`. */
  burst?: number;
  /** Defaults to "local". */
  fallback?: RuleFallback;
}

/** A validated rule with everything the limiters need precomputed. */
export interface CompiledRule {
  readonly name: string;
  readonly key: RuleKeyKind;
  readonly limit: number;
  readonly periodMs: number;
  readonly burst: number;
  readonly fallback: RuleFallback;
  /**
   * Login rules guard against password guessing, so their local fallback share rounds down (all gateways together
   * never exceed the limit); other rules round up, so a read is not refused because of rounding.
   */
  readonly strict: boolean;
  /** GCRA emission interval T: one request per T microseconds on average (rounded up: never faster than limit). */
  readonly emissionUs: number;
  /** GCRA capacity burst*T: how far ahead of now the theoretical arrival time may run. */
  readonly capacityUs: number;
  readonly patterns: readonly PathMatcher[];
  // Built once per rule rather than once per request (or looked up per request in a WeakMap):
  /** The name as an RFC 8941 sf-string, as the RateLimit header names the policy. */
  readonly quotedName: string;
  /** The name as a JSON string, as the access line names the rule. */
  readonly jsonName: string;
  /** The rule's item of RateLimit-Policy: `"name";q=limit;w=seconds`. */
  readonly policyItem: string;
  /** `T,burst*T` as the rate-limit script reads a rule. */
  readonly scriptRates: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const KINDS: readonly RuleKeyKind[] = ["token", "cert", "ip", "global"];
const FALLBACKS: readonly RuleFallback[] = ["local", "open", "closed"];
/** Keeps now + capacity, in microseconds, far below 2^53 so Lua doubles and JS numbers stay exact integers. */
const MAX_CAPACITY_US = 1e15;

/** Validates every rule up front and compiles it; throws ConfigError naming the rule and the field. */
export function compileRules(rules: readonly RateLimitRule[]): CompiledRule[] {
  if (!Array.isArray(rules)) throw new ConfigError("rateLimit.rules: must be a list of rules");
  const seen = new Set<string>();
  return rules.map((rule, index) => {
    const compiled = compileRule(rule, index);
    if (seen.has(compiled.name))
      throw new ConfigError(`rateLimit.rules[${index}].name: "${compiled.name}" is used twice`);
    seen.add(compiled.name);
    return compiled;
  });
}

function compileRule(rule: RateLimitRule, index: number): CompiledRule {
  const name = typeof rule?.name === "string" ? rule.name : "";
  const where = NAME.test(name) ? `rateLimit.rules[${index}] ("${name}")` : `rateLimit.rules[${index}]`;
  const fail = (field: string, problem: string): never => {
    throw new ConfigError(`${where}.${field}: ${problem}`);
  };
  if (!NAME.test(name)) fail("name", "must be 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit");
  if (!Array.isArray(rule.paths) || rule.paths.length === 0) fail("paths", "must be a non-empty list of patterns");
  rule.paths.forEach((pattern, i) => {
    const problem = patternProblem(pattern);
    if (problem !== undefined) fail(`paths[${i}]`, problem);
  });
  if (!KINDS.includes(rule.key)) fail("key", `must be one of ${KINDS.join(", ")}`);
  if (!isPositiveInteger(rule.limit)) fail("limit", "must be a positive integer");
  if (!isPositiveInteger(rule.periodMs)) fail("periodMs", "must be a positive integer (milliseconds)");
  if (rule.burst !== undefined && !isPositiveInteger(rule.burst)) fail("burst", "must be a positive integer");
  const fallback = rule.fallback ?? "local";
  if (!FALLBACKS.includes(fallback)) fail("fallback", `must be one of ${FALLBACKS.join(", ")}`);
  const compiled = build(rule, fallback);
  if (compiled.capacityUs > MAX_CAPACITY_US) fail("periodMs", "burst * periodMs / limit must stay under 31 years");
  return compiled;
}

function build(rule: RateLimitRule, fallback: RuleFallback): CompiledRule {
  const burst = rule.burst ?? rule.limit;
  const emissionUs = Math.ceil((rule.periodMs * 1000) / rule.limit);
  return withStrings({
    name: rule.name,
    key: rule.key,
    limit: rule.limit,
    periodMs: rule.periodMs,
    burst,
    fallback,
    strict: rule.paths.some((p) => /(^|\/)login(\/|$)/.test(p)),
    emissionUs,
    capacityUs: emissionUs * burst,
    patterns: rule.paths.map(compilePattern),
  });
}

type RuleStrings = "quotedName" | "jsonName" | "policyItem" | "scriptRates";

/** The rule with the strings headers and the script need, from its numbers. */
function withStrings(rule: Omit<CompiledRule, RuleStrings>): CompiledRule {
  const quotedName = sfString(rule.name);
  let policyItem = `${quotedName};q=${rule.limit};w=${Math.max(1, Math.ceil(rule.periodMs / 1000))}`;
  if (rule.burst !== rule.limit) policyItem = `${policyItem};portcullis-burst=${rule.burst}`;
  const jsonName = JSON.stringify(rule.name);
  return { ...rule, quotedName, jsonName, policyItem, scriptRates: `${rule.emissionUs},${rule.capacityUs}` };
}

/** An sf-string: quoted, with `\` and `"` escaped (rule names are validated to need neither, but stay safe). */
function sfString(text: string): string {
  return `"${text.replace(/[\\"]/g, "\\$&")}"`;
}

/**
 * The share of a rule one gateway enforces alone while Redis is down: limit and burst divided by the number of
 * gateways (a client spread over N gateways sends each about 1/N of its requests). Never below 1.
 */
export function localShare(rule: CompiledRule, gatewayCount: number): CompiledRule {
  if (gatewayCount === 1) return rule;
  const divide = (n: number): number => Math.max(1, (rule.strict ? Math.floor : Math.ceil)(n / gatewayCount));
  const limit = divide(rule.limit);
  const burst = divide(rule.burst);
  const emissionUs = Math.ceil((rule.periodMs * 1000) / limit);
  return withStrings({ ...rule, limit, burst, emissionUs, capacityUs: emissionUs * burst });
}

/** The rules whose patterns match a request path ("/v1/secret/foo" is matched as "secret/foo"), in rule order. */
export function matchRules(rules: readonly CompiledRule[], path: string): CompiledRule[] {
  const rest = path.startsWith("/v1/") ? path.slice(4) : path.replace(/^\/+/, "");
  const matched: CompiledRule[] = [];
  for (const rule of rules) {
    for (const pattern of rule.patterns) {
      if (!pattern.test(rest)) continue;
      matched.push(rule);
      break;
    }
  }
  return matched;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}
