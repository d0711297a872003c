export { createRedisClient, type RedisClientConfig, type RedisNode, whenReady } from "./client.js";
export { FallbackLimiter, type FallbackLimiterOptions, type LimiterLogger, type LimiterMode } from "./fallback.js";
export { limitField, policyField, rateLimitHeaders } from "./headers.js";
export { clientNetwork, KeyBuilder, type KeyOptions } from "./keys.js";
export type {
  DecisionSource,
  LimitDecision,
  LimitEntry,
  Limiter,
  LimitRequest,
  RemoteLimiter,
  RuleResult,
} from "./limiter.js";
export { MemoryLimiter, type MemoryLimiterOptions } from "./memory.js";
export { type RedisClient, RedisLimiter, type RedisLimiterOptions } from "./redis.js";
export {
  type CompiledRule,
  compileRules,
  localShare,
  matchRules,
  type RateLimitRule,
  type RuleFallback,
  type RuleKeyKind,
} from "./rules.js";
