import { ConfigError } from "../errors/gateway-error.js";
import { BlockedKeys } from "./blocked.js";
import { Deadlines } from "./deadlines.js";
import type { LimitDecision, LimitEntry, Limiter, LimitRequest, RemoteLimiter, RuleResult } from "./limiter.js";
import { MemoryLimiter } from "./memory.js";
import { type CompiledRule, localShare } from "./rules.js";

/** Pino's logger fits: `warn(fields, message)`. */
export interface LimiterLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

export type LimiterMode = "redis" | "fallback";

export interface FallbackLimiterOptions {
  /** Answers while healthy, usually a RedisLimiter; closed with this limiter. */
  remote: RemoteLimiter;
  /** Gateways sharing the Redis; a `local` rule enforces limit / gatewayCount here while Redis is down. Default 1. */
  gatewayCount?: number;
  /**
   * The longest a take waits for Redis before the fallback answers (default 250 ms), checked every quarter of it:
   * a take gives up between 1 and 1.25 times this. A remote that keeps a deadline of its own no longer than this
   * (`RemoteLimiter.timeoutMs`, e.g. a RedisLimiter given the same timeout) is trusted with takes; probes are always
   * watched here.
   */
  timeoutMs?: number;
  /** How often Redis is pinged while down (default 1000 ms): one probe per interval, not one per request. */
  probeIntervalMs?: number;
  logger?: LimiterLogger;
  /** Bound of the local limiter's keys (default 50,000) and of the blocked-key cache (default 10,000). */
  maxLocalKeys?: number;
  maxBlockedKeys?: number;
  /** Milliseconds, monotonic; default performance.now. */
  now?: () => number;
}

/**
 * Redis while it answers, the per-rule fallback while it does not: `local` counts in this process (a share of the
 * limit), `open` admits, `closed` refuses with a 503-type decision (`unavailable`): the client did nothing wrong,
 * and a 429 would teach it to back off from a quota it never used. Login rules count strictly (see rules.ts).
 *
 * The first failure or timeout switches every request to the fallback at once (no request pays the timeout again)
 * and is logged once; a background probe pings Redis every probeIntervalMs and switches back on the first answer.
 * A script that timed out may still run in Redis later and count there too: an error on the safe side.
 * @example
 * const limiter = new FallbackLimiter({ remote: new RedisLimiter(createRedisClient({ url })), gatewayCount: 3 });
 */
export class FallbackLimiter implements Limiter {
  readonly #remote: RemoteLimiter;
  readonly #local: MemoryLimiter;
  readonly #blocked: BlockedKeys;
  readonly #shares = new WeakMap<CompiledRule, CompiledRule>();
  readonly #gatewayCount: number;
  readonly #timeoutMs: number;
  readonly #probeIntervalMs: number;
  readonly #logger: LimiterLogger | undefined;
  readonly #deadlines: Deadlines;
  /** Whether takes need a deadline here: not when the remote keeps one no longer than ours. */
  readonly #watchTakes: boolean;
  #mode: LimiterMode = "redis";
  #probe: NodeJS.Timeout | undefined;
  #probing = false;
  #closed = false;

  constructor(options: FallbackLimiterOptions) {
    this.#remote = options.remote;
    this.#gatewayCount = count(options.gatewayCount ?? 1, "gatewayCount");
    this.#timeoutMs = count(options.timeoutMs ?? 250, "timeoutMs");
    this.#probeIntervalMs = count(options.probeIntervalMs ?? 1000, "probeIntervalMs");
    this.#deadlines = new Deadlines(this.#timeoutMs);
    const remoteTimeoutMs = options.remote.timeoutMs;
    this.#watchTakes = remoteTimeoutMs === undefined || remoteTimeoutMs > this.#timeoutMs;
    this.#logger = options.logger;
    const now = options.now ?? (() => performance.now());
    this.#local = new MemoryLimiter({ maxKeys: options.maxLocalKeys ?? 50_000, now });
    this.#blocked = new BlockedKeys(count(options.maxBlockedKeys ?? 10_000, "maxBlockedKeys"), now);
  }

  mode(): LimiterMode {
    return this.#mode;
  }

  take(request: LimitRequest): Promise<LimitDecision> {
    const blocked = this.#blocked.check(request);
    if (blocked !== undefined) return Promise.resolve(blocked);
    if (this.#mode === "fallback") return Promise.resolve(this.#fallback(request));
    let taken: Promise<LimitDecision>;
    try {
      taken = this.#remote.take(request);
    } catch (error) {
      return Promise.resolve(this.#fallbackAfter(error, request));
    }
    return (this.#watchTakes ? this.#deadlines.watch(taken) : taken).then(this.#remember, (error: unknown) =>
      this.#fallbackAfter(error, request),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    this.#deadlines.close();
    await Promise.all([this.#remote.close(), this.#local.close()]);
  }

  readonly #remember = (decision: LimitDecision): LimitDecision => {
    this.#blocked.remember(decision);
    return decision;
  };

  #fallbackAfter(error: unknown, request: LimitRequest): LimitDecision {
    this.#enterFallback(error);
    return this.#fallback(request);
  }

  #fallback(request: LimitRequest): LimitDecision {
    const closed = request.entries.filter((entry) => entry.rule.fallback === "closed");
    if (closed.length > 0) {
      // retry after the next probe, the earliest moment Redis can be back
      const waitMs = this.#probeIntervalMs;
      const results: RuleResult[] = closed.map((entry) => ({
        ...entry,
        allowed: false,
        remaining: 0,
        refillMs: waitMs,
        resetMs: waitMs,
      }));
      return { allowed: false, unavailable: true, retryAfterMs: waitMs, results, source: "fallback" };
    }
    const local = request.entries.filter((entry) => entry.rule.fallback === "local");
    const decision = this.#local.takeNow({ entries: local.map((entry) => this.#shareOf(entry)) });
    // report the configured rules, not their local shares, so headers keep naming the policies clients know
    const results = decision.results.map((result, i) => ({ ...result, rule: local[i]?.rule ?? result.rule }));
    return { ...decision, results, source: "fallback" };
  }

  #shareOf(entry: LimitEntry): LimitEntry {
    let share = this.#shares.get(entry.rule);
    if (share === undefined) {
      share = localShare(entry.rule, this.#gatewayCount);
      this.#shares.set(entry.rule, share);
    }
    return { rule: share, key: entry.key };
  }

  #enterFallback(error: unknown): void {
    if (this.#mode === "fallback" || this.#closed) return;
    this.#mode = "fallback";
    const reason = error instanceof Error ? error.message : String(error);
    this.#logger?.warn({ reason }, "rate limiting: Redis failed, limits now enforced per gateway until it answers");
    this.#probe = setInterval(() => void this.#probeOnce(), this.#probeIntervalMs);
    this.#probe.unref(); // a probe must not keep a stopping process alive
  }

  async #probeOnce(): Promise<void> {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    try {
      await this.#deadlines.watch(this.#remote.ping());
      if (this.#closed) return;
      clearInterval(this.#probe);
      this.#probe = undefined;
      this.#mode = "redis";
      this.#logger?.info({}, "rate limiting: Redis answers again, limits shared across gateways");
    } catch {
      // still down: the next interval tries again
    } finally {
      this.#probing = false;
    }
  }
}

function count(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ConfigError(`rateLimit.${field}: must be a positive integer`);
  return value;
}
