import type { Redis, Result } from "ioredis";

// The rows that pay one Redis round trip per request (b, g) run this: GCRA in its smallest form, one key, the
// server's clock, admit if one more interval fits in the capacity.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local emission = tonumber(ARGV[1])
if tat + emission - now > tonumber(ARGV[2]) then return {0, tat - now} end
tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return {1, 0}
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    benchTake(key: string, emissionUs: number, capacityUs: number): Result<[number, number], Context>;
  }
}

// 1e9 requests a minute: never reached, so every request takes the full admit path (GET + SET)
const EMISSION_US = 1;
const CAPACITY_US = 60_000_000;

/** One EVALSHA per call; resolves whether the request under `key` is admitted. */
export function gcraTake(redis: Redis): (key: string) => Promise<boolean> {
  redis.defineCommand("benchTake", { numberOfKeys: 1, lua: TAKE });
  return async (key) => (await redis.benchTake(key, EMISSION_US, CAPACITY_US))[0] === 1;
}
