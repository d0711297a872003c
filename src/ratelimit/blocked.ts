import { LRUCache } from "lru-cache";
import type { LimitDecision, LimitRequest, RuleResult } from "./limiter.js";

/**
 * Keys Redis said are denied, each until the moment it admits again. A client hammering a limit it already hit is
 * answered here without a round trip: that is the traffic pattern of an attack, and Redis need not carry it. Safe
 * across gateways because no gateway can make a GCRA key admit sooner than time does.
 */
export class BlockedKeys {
  readonly #until: LRUCache<string, number>;
  readonly #now: () => number;

  constructor(maxKeys: number, now: () => number) {
    this.#until = new LRUCache({ max: maxKeys });
    this.#now = now;
  }

  /** Remembers the denying rules of a decision Redis made (until measured on this process's clock). */
  remember(decision: LimitDecision): void {
    if (decision.allowed) return; // every rule admitted: nothing is blocked
    const now = this.#now();
    for (const result of decision.results) {
      if (!result.allowed && result.refillMs > 0) this.#until.set(result.key, now + result.refillMs);
    }
  }

  /** A denial for the request when one of its keys is known blocked; undefined when Redis must be asked. */
  check(request: LimitRequest): LimitDecision | undefined {
    if (this.#until.size === 0) return undefined; // nobody is blocked: the common case costs nothing
    const now = this.#now();
    const results: RuleResult[] = [];
    for (const entry of request.entries) {
      const until = this.#until.get(entry.key);
      if (until === undefined) continue;
      if (until <= now) {
        this.#until.delete(entry.key);
        continue;
      }
      const waitMs = Math.ceil(until - now);
      // only the wait is known here; it stands in for the reset as its lower bound
      results.push({ ...entry, allowed: false, remaining: 0, refillMs: waitMs, resetMs: waitMs });
    }
    if (results.length === 0) return undefined;
    const retryAfterMs = Math.max(...results.map((result) => result.refillMs));
    return { allowed: false, unavailable: false, retryAfterMs, results, source: "blocked" };
  }
}
