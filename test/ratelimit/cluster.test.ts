import test from "ava";
import { createRedisClient, whenReady } from "../../src/ratelimit/client.js";
import { KeyBuilder } from "../../src/ratelimit/keys.js";
import { RedisLimiter } from "../../src/ratelimit/redis.js";
import { type RedisClusterHandle, redisCommand, startRedisCluster } from "../helpers/redis.js";
import { coreSuite, rule } from "./core-suite.js";

// The core suite again, on three masters: keys of one identity share a slot; a request mixing identities runs one
// script per slot and undoes the others when one slot denies.

let cluster: RedisClusterHandle;
test.before(async () => {
  cluster = await startRedisCluster();
});
test.after.always(async () => {
  await cluster?.stop();
});

async function clusterLimiter(): Promise<RedisLimiter> {
  const client = createRedisClient({ clusterNodes: cluster.nodes, commandTimeoutMs: 2000 });
  if (!(await whenReady(client, 5000))) throw new Error("cluster client never became ready");
  return new RedisLimiter(client);
}

coreSuite("cluster", clusterLimiter);

test("cluster: one request's identities hash to different slots, one identity's rules to one", async (t) => {
  const keys = new KeyBuilder({ prefix: "pc-cluster" });
  const identity = { ip: "192.0.2.7", tokenId: "token-id-7" };
  const kinds = ["token", "ip", "global"] as const;
  const slotOf = async (key: string): Promise<number> =>
    Number((await redisCommand(cluster.nodes[0]?.port ?? 0, "CLUSTER", "KEYSLOT", key)).slice(1));
  const slots = await Promise.all(
    kinds.map((key) => slotOf(keys.keyFor(rule({ name: `per-${key}`, key, limit: 1, periodMs: 1000 }), identity))),
  );
  t.is(new Set(slots).size, 3, `slots ${slots.join(", ")}`);
  // and two rules of one identity share a slot, so burst + daily per token stay one script
  const daily = keys.keyFor(rule({ name: "daily", key: "token", limit: 1, periodMs: 1000 }), identity);
  t.is(await slotOf(daily), slots[0] ?? -1);
});
