import test, { type ExecutionContext } from "ava";
import type { ConfigInput } from "../../../src/config/schema.js";
import { startBackend, TEST_TOKEN } from "../../helpers/backend.js";
import { startGateway, type TestGateway } from "../../helpers/gateway.js";
import { startRedis } from "../../helpers/redis.js";

// Made-up tokens each cost the backend a lookup-self: a client address gets a budget of them (rateLimit.tokenLookups)

const SECRET = "a-shared-secret-of-at-least-32-characters";
const RATE_LIMITED = { errors: ["rate limit exceeded, try again later"] };

async function gatewayWith(t: ExecutionContext, rateLimit: ConfigInput["rateLimit"]) {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({
    upstream: { url: backend.url },
    trustedProxies: ["127.0.0.1"], // so a test can speak for several client addresses
    secret: SECRET,
    rateLimit,
  });
  t.teardown(() => gw.close());
  return { backend, gw };
}

function from(gw: TestGateway, address: string, token: string) {
  return gw.request("/v1/secret/data/x", { token, headers: { "x-forwarded-for": address } });
}

test("past its budget an address gets 429 for unknown tokens, and the backend is asked no more", async (t) => {
  const { backend, gw } = await gatewayWith(t, { rules: [], tokenLookups: { limit: 4, periodMs: 60_000, burst: 4 } });
  const client = "203.0.113.7";
  t.is((await from(gw, client, TEST_TOKEN)).status, 200); // a lookup: the first of 4
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await from(gw, client, `made-up-${i}`)).status);
  t.deepEqual(statuses, [401, 401, 401, 429, 429]);
  const limited = await from(gw, client, "made-up-9");
  t.is(limited.status, 429);
  t.regex(limited.headers["retry-after"] ?? "", /^[1-9]\d*$/);
  t.deepEqual(JSON.parse(limited.body), RATE_LIMITED);
  t.is(backend.lookups.length, 4, "no lookup past the budget");

  // what the cache knows costs nothing: the valid token is served, a known bad one is refused as before
  t.is((await from(gw, client, TEST_TOKEN)).status, 200);
  t.is((await from(gw, client, "made-up-0")).status, 401);
  // another address has a budget of its own
  t.is((await from(gw, "203.0.113.8", "made-up-other")).status, 401);
  t.is(backend.lookups.length, 5);
  t.false(gw.rawLog().includes("made-up-"), "tokens never reach the log");
});

test("a new token sent by many requests at once costs one lookup and one unit of the budget", async (t) => {
  // on Redis: a budget that answers after a round trip, not within the same tick, is where requests pile up
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { backend, gw } = await gatewayWith(t, {
    redis: { url: redis.url, commandTimeoutMs: 2_000 },
    rules: [],
    tokenLookups: { limit: 1, periodMs: 60_000, burst: 1 },
  });
  const replies = await Promise.all(Array.from({ length: 50 }, () => from(gw, "203.0.113.10", TEST_TOKEN)));
  t.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
  t.is(backend.lookups.length, 1);
  t.is((await from(gw, "203.0.113.10", "made-up")).status, 429, "the one lookup was the budget");
});

test("false turns the count off: every unknown token is looked up", async (t) => {
  const { backend, gw } = await gatewayWith(t, { rules: [], tokenLookups: false });
  for (let i = 0; i < 30; i++) t.is((await from(gw, "203.0.113.9", `made-up-${i}`)).status, 401);
  t.is(backend.lookups.length, 30);
});

test("two gateways on one Redis share an address's budget, kept under a key that holds no token", async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const rateLimit = {
    redis: { url: redis.url, commandTimeoutMs: 2_000 }, // a slow shared machine must not send it to the fallback
    gatewayCount: 2,
    rules: [],
    tokenLookups: { limit: 4, periodMs: 60_000, burst: 4 },
  };
  const one = await gatewayWith(t, rateLimit);
  const two = await gatewayWith(t, rateLimit);
  const client = "198.51.100.4";
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await from(one.gw, client, `guess-a-${i}`)).status);
  for (let i = 0; i < 3; i++) statuses.push((await from(two.gw, client, `guess-b-${i}`)).status);
  t.deepEqual(statuses, [401, 401, 401, 401, 429, 429]);
  t.is(one.backend.lookups.length + two.backend.lookups.length, 4);
  const keys = await redis.command("KEYS", "*");
  t.regex(keys, /token-lookups/);
  t.false(keys.includes("guess-"), "no token in a Redis key");
  t.false(keys.includes(client), "no client address in a Redis key");
});

test("a rule may not take the name of the lookup count", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const rule = { name: "token-lookups", paths: ["secret/*"], key: "ip" as const, limit: 5, periodMs: 60_000 };
  await t.throwsAsync(startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [rule] } }), {
    message: /token-lookups.*reserved|is the name of rateLimit\.tokenLookups/,
  });
});
