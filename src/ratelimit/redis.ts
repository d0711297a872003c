import type { Cluster, Redis, Result } from "ioredis";
import { parseTakeReply, TakeBatcher, type TakeOutcome, takeArguments } from "./batch.js";
import { conforms, describe } from "./gcra.js";
import { hashTag } from "./keys.js";
import {
  decide,
  type LimitDecision,
  type LimitEntry,
  type LimitRequest,
  type RemoteLimiter,
  type RuleResult,
} from "./limiter.js";
import { REFUND_LUA, TAKE_LUA } from "./scripts.js";

declare module "ioredis" {
  interface RedisCommander<Context> {
    // numKeys first: the number of keys varies with the rules a request matched
    portcullisTake(numKeys: number, ...keysThenArgs: string[]): Result<unknown, Context>;
    portcullisRefund(numKeys: number, ...keysThenArgs: (string | number)[]): Result<number, Context>;
  }
}

/** A single node (URL or Sentinel) or a Cluster, as createRedisClient builds them. */
export type RedisClient = Redis | Cluster;

interface Group {
  readonly indexes: readonly number[];
  readonly entries: readonly LimitEntry[];
}

interface Outcome extends TakeOutcome {
  readonly group: Group;
}

/**
 * GCRA in Redis: every rule of a request checked and counted by one atomic script, on Redis server time.
 *
 * On a single node or Sentinel that is always one round trip, shared by the requests of one event-loop turn
 * (batch.ts). On Cluster a script may only touch one slot, so keys
 * are grouped by hash tag (keys.ts) and each group runs its own script, in parallel; when one group denies, the
 * groups that admitted the request get their count back (REFUND_LUA). Between take and refund a concurrent request
 * may see the extra count and be denied: the error is on the safe side, never an admission above the limit.
 * @example
 * const limiter = new RedisLimiter(createRedisClient({ url: "redis://127.0.0.1:6379" }));
 */
export class RedisLimiter implements RemoteLimiter {
  readonly #client: RedisClient;
  readonly #batcher: TakeBatcher;

  /** Takes ownership of the client: close() closes it. */
  constructor(client: RedisClient) {
    this.#client = client;
    client.defineCommand("portcullisTake", { lua: TAKE_LUA });
    client.defineCommand("portcullisRefund", { lua: REFUND_LUA });
    this.#batcher = new TakeBatcher((numKeys, keysThenArgs) => client.portcullisTake(numKeys, ...keysThenArgs));
  }

  async take(request: LimitRequest): Promise<LimitDecision> {
    const { entries } = request;
    if (entries.length === 0) return decide([], "redis");
    if (!this.#client.isCluster) {
      const { admitted, now, tats } = await this.#batcher.take(entries);
      return decide(
        entries.map((entry, i) => resultOf(entry, tats[i] ?? now, now, admitted)),
        "redis",
      );
    }
    const outcomes = await Promise.all(groupByTag(entries).map((group) => this.#run(group)));
    const admitted = outcomes.every((outcome) => outcome.admitted);
    if (!admitted) await this.#refund(outcomes.filter((outcome) => outcome.admitted));
    const results: RuleResult[] = new Array(entries.length);
    for (const outcome of outcomes) {
      outcome.group.entries.forEach((entry, i) => {
        // a refunded group reports the state it was returned to
        const tat = (outcome.tats[i] ?? outcome.now) - (outcome.admitted && !admitted ? entry.rule.emissionUs : 0);
        results[outcome.group.indexes[i] ?? 0] = resultOf(entry, tat, outcome.now, outcome.admitted);
      });
    }
    return decide(results, "redis");
  }

  async ping(): Promise<void> {
    await this.#client.ping();
  }

  async close(): Promise<void> {
    // quit() lets queued replies arrive; when not connected it would only wait, and disconnect() also stops the
    // reconnect loop
    if (this.#client.status === "ready") await this.#client.quit().catch(() => undefined);
    this.#client.disconnect();
  }

  /** One slot's keys of one request, in a script of its own (a batch of one). */
  async #run(group: Group): Promise<Outcome> {
    const { keyCount, keysThenArgs } = takeArguments([group.entries]);
    const reply = await this.#client.portcullisTake(keyCount, ...keysThenArgs);
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
        return this.#client.portcullisRefund(group.entries.length, ...args).catch(() => 0);
      }),
    );
  }
}

/**
 * What one rule says about a request. In an admitted group the TAT already includes this request, so the rule
 * admitted it; in a denied group nothing was counted and the rule admits iff it conforms on its own.
 */
function resultOf(entry: LimitEntry, tat: number, now: number, groupAdmitted: boolean): RuleResult {
  const allowed = groupAdmitted || conforms(tat, now, entry.rule);
  return { rule: entry.rule, key: entry.key, allowed, ...describe(tat, now, entry.rule) };
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
