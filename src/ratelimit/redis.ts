import type { Cluster, Redis } from "ioredis";
import { ConfigError } from "../errors/gateway-error.js";
import { parseTakeReply, ruleResult, TakeBatcher, takeArguments } from "./batch.js";
import { Deadlines } from "./deadlines.js";
import { hashTag } from "./keys.js";
import {
  decide,
  type LimitDecision,
  type LimitEntry,
  type LimitRequest,
  type RemoteLimiter,
  type RuleResult,
} from "./limiter.js";
import { LuaScript } from "./lua.js";
import { REFUND_LUA, TAKE_LUA } from "./scripts.js";

/** A single node (URL or Sentinel) or a Cluster, as createRedisClient builds them. */
export type RedisClient = Redis | Cluster;

interface Group {
  readonly indexes: readonly number[];
  readonly entries: readonly LimitEntry[];
}

interface Outcome {
  readonly group: Group;
  readonly admitted: boolean;
  /** Redis server time of the decision, in microseconds. */
  readonly now: number;
  /** The TAT of each of the group's keys after the decision. */
  readonly tats: readonly number[];
}

export interface RedisLimiterOptions {
  /**
   * The longest a take or ping waits for Redis before it fails; it fails between 1 and 1.25 times this (one sweep
   * per quarter of it, see deadlines.ts). Without it, only the client's own command timeout, if any, applies.
   */
  timeoutMs?: number;
}

const TAKE = new LuaScript(TAKE_LUA);
const REFUND = new LuaScript(REFUND_LUA);

/**
 * GCRA in Redis: every rule of a request checked and counted by one atomic script, on Redis server time.
 *
 * On a single node or Sentinel that is always one round trip, shared by the requests that arrive together
 * (batch.ts). On Cluster a script may only touch one slot, so keys
 * are grouped by hash tag (keys.ts) and each group runs its own script, in parallel; when one group denies, the
 * groups that admitted the request get their count back (REFUND_LUA). Between take and refund a concurrent request
 * may see the extra count and be denied: the error is on the safe side, never an admission above the limit.
 * @example
 * const limiter = new RedisLimiter(createRedisClient({ url: "redis://127.0.0.1:6379" }), { timeoutMs: 250 });
 */
export class RedisLimiter implements RemoteLimiter {
  readonly timeoutMs: number | undefined;
  readonly #client: RedisClient;
  readonly #deadlines: Deadlines | undefined;
  readonly #batcher: TakeBatcher;

  /** Takes ownership of the client: close() closes it. */
  constructor(client: RedisClient, options: RedisLimiterOptions = {}) {
    this.#client = client;
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isSafeInteger(timeoutMs) && timeoutMs >= 1)) {
      throw new ConfigError("RedisLimiter timeoutMs: must be a positive integer (milliseconds)");
    }
    this.timeoutMs = timeoutMs;
    this.#deadlines = timeoutMs === undefined ? undefined : new Deadlines(timeoutMs);
    this.#batcher = new TakeBatcher((keys, keysThenArgs) => TAKE.run(client, keys, keysThenArgs), this.#deadlines);
  }

  take(request: LimitRequest): Promise<LimitDecision> {
    const { entries } = request;
    if (entries.length === 0) return Promise.resolve(decide([], "redis"));
    // on Cluster a denial's refund follows the take: one deadline over both keeps the whole take within it
    return this.#client.isCluster ? this.#withinDeadline(this.#takeInSlots(entries)) : this.#batcher.take(entries);
  }

  async ping(): Promise<void> {
    await this.#withinDeadline(this.#client.ping());
  }

  async close(): Promise<void> {
    // quit() lets queued replies arrive, within the deadline (a Redis that stopped answering must not hold a
    // stopping gateway); when not connected it would only wait, and disconnect() also stops the reconnect loop
    if (this.#client.status === "ready") await this.#withinDeadline(this.#client.quit()).catch(() => undefined);
    this.#client.disconnect();
    this.#deadlines?.close();
  }

  #withinDeadline<T>(promise: Promise<T>): Promise<T> {
    return this.#deadlines === undefined ? promise : this.#deadlines.watch(promise);
  }

  /** Cluster: one script per slot the request's keys hash to, refunded where admitted if another slot denied. */
  async #takeInSlots(entries: readonly LimitEntry[]): Promise<LimitDecision> {
    const outcomes = await Promise.all(groupByTag(entries).map((group) => this.#run(group)));
    const admitted = outcomes.every((outcome) => outcome.admitted);
    if (!admitted) await this.#refund(outcomes.filter((outcome) => outcome.admitted));
    const results: RuleResult[] = new Array(entries.length);
    for (const outcome of outcomes) {
      outcome.group.entries.forEach((entry, i) => {
        // a refunded group reports the state it was returned to
        const tat = (outcome.tats[i] ?? outcome.now) - (outcome.admitted && !admitted ? entry.rule.emissionUs : 0);
        results[outcome.group.indexes[i] ?? 0] = ruleResult(entry, tat, outcome.now, outcome.admitted);
      });
    }
    return decide(results, "redis");
  }

  /** One slot's keys of one request, in a script of its own (a batch of one). */
  async #run(group: Group): Promise<Outcome> {
    const { keyCount, keysThenArgs } = takeArguments([group]);
    const reply = await this.#withinDeadline(TAKE.run(this.#client, keyCount, keysThenArgs));
    const parsed = parseTakeReply(reply, 1, keyCount);
    if (typeof parsed === "string") throw new Error(`the rate-limit script answered ${parsed}`);
    return { group, admitted: parsed.admitted[0] === true, now: parsed.now, tats: parsed.tats };
  }

  async #refund(outcomes: readonly Outcome[]): Promise<void> {
    await Promise.all(
      outcomes.map(({ group }) => {
        const args: (string | number)[] = group.entries.map((entry) => entry.key);
        for (const { rule } of group.entries) args.push(rule.emissionUs);
        // a failed refund leaves the count taken: the safe side, so the denial still stands
        return this.#withinDeadline(REFUND.run(this.#client, group.entries.length, args)).catch(() => 0);
      }),
    );
  }
}

function groupByTag(entries: readonly LimitEntry[]): Group[] {
  const groups = new Map<string, { indexes: number[]; entries: LimitEntry[] }>();
  entries.forEach((entry, index) => {
    const tag = hashTag(entry.key) ?? entry.key;
    const group = groups.get(tag) ?? { indexes: [], entries: [] };
    group.indexes.push(index);
    group.entries.push(entry);
    groups.set(tag, group);
  });
  return [...groups.values()];
}
