import { LRUCache } from "lru-cache";
import { ConfigError } from "../errors/gateway-error.js";
import { conforms, describe } from "./gcra.js";
import { decide, type LimitDecision, type Limiter, type LimitRequest, type RuleResult } from "./limiter.js";

export interface MemoryLimiterOptions {
  /**
   * Most keys held at once (default 50,000). The least recently used key goes first, so a client rotating addresses
   * cannot grow memory without bound; what it costs is that an evicted client starts again from a full burst.
   */
  maxKeys?: number;
  /** The clock in milliseconds; default performance.now (monotonic). Tests pass their own. */
  now?: () => number;
}

/**
 * The same GCRA as RedisLimiter, for one process: used when no Redis is configured, and by FallbackLimiter while
 * Redis is down. JavaScript runs one take at a time, so checking all rules and then counting them is atomic.
 */
export class MemoryLimiter implements Limiter {
  readonly #tats: LRUCache<string, number>;
  readonly #now: () => number;

  constructor(options: MemoryLimiterOptions = {}) {
    const maxKeys = options.maxKeys ?? 50_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new ConfigError("rateLimit.maxLocalKeys: must be >= 1");
    this.#tats = new LRUCache({ max: maxKeys });
    this.#now = options.now ?? (() => performance.now());
  }

  /** Keys currently held; never above maxKeys. */
  get size(): number {
    return this.#tats.size;
  }

  take(request: LimitRequest): Promise<LimitDecision> {
    return Promise.resolve(this.takeNow(request));
  }

  /** take() without the promise, for callers that are already inside one. */
  takeNow(request: LimitRequest): LimitDecision {
    const now = Math.round(this.#now() * 1000);
    const tats = request.entries.map((entry) => Math.max(this.#tats.get(entry.key) ?? now, now));
    const allowed = request.entries.map((entry, i) => conforms(tats[i] ?? now, now, entry.rule));
    const admit = allowed.every(Boolean);
    const results: RuleResult[] = request.entries.map((entry, i) => {
      let tat = tats[i] ?? now;
      if (admit) {
        tat += entry.rule.emissionUs;
        this.#tats.set(entry.key, tat);
      }
      return { rule: entry.rule, key: entry.key, allowed: allowed[i] ?? false, ...describe(tat, now, entry.rule) };
    });
    return decide(results, "memory");
  }

  close(): Promise<void> {
    this.#tats.clear();
    return Promise.resolve();
  }
}
