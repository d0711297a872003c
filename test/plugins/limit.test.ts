import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import test, { type ExecutionContext } from "ava";
import { ConfigError } from "../../src/errors/gateway-error.js";
import { factValue, type LoggedFact, type RequestContext } from "../../src/pipeline/context.js";
import { definePlugin } from "../../src/pipeline/plugin.js";
import { runPipeline } from "../../src/pipeline/run.js";
import { limit } from "../../src/plugins/limit.js";
import type { Limiter } from "../../src/ratelimit/limiter.js";
import { MemoryLimiter } from "../../src/ratelimit/memory.js";
import type { RateLimitRule } from "../../src/ratelimit/rules.js";
import { closeServer, listen } from "../helpers/servers.js";

const rules: RateLimitRule[] = [
  { name: "burst", paths: ["secret/*"], key: "token", limit: 2, periodMs: 1000 },
  { name: "daily", paths: ["secret/*", "sys/*"], key: "ip", limit: 100, periodMs: 86_400_000 },
];

// draft-ietf-httpapi-ratelimit-headers-10: an sf-list of sf-string items with integer parameters
const POLICY_ITEM = /^"[\w.-]+";q=\d+;w=\d+(;[a-z][a-z0-9_.*-]*=\d+)*$/;
const LIMIT_ITEM = /^"[\w.-]+";r=\d+(;t=\d+)?$/;

function contextFor(req: IncomingMessage, res: ServerResponse): RequestContext {
  const url = new URL(req.url ?? "/", "http://localhost");
  const tokenId = req.headers["x-test-token-id"];
  return {
    id: "test",
    req,
    res,
    startedAt: performance.now(),
    secure: false,
    identity: { ip: req.socket.remoteAddress ?? "", ...(typeof tokenId === "string" ? { tokenId } : {}) },
    forwardedFor: req.socket.remoteAddress ?? "",
    path: url.pathname,
    query: url.search.slice(1),
    upstreamHeaders: {},
    responseHeaders: {},
    responseHooks: [],
    logFields: {},
  };
}

/** A gateway of two stages, limit then a backend stand-in that answers 200 and counts what reached it. */
async function gateway(t: ExecutionContext, limiter: Limiter, legacyHeaders = false, ruleSet = rules) {
  const reached: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const backend = definePlugin({
    name: "backend",
    handle(ctx) {
      reached.push(ctx.path);
      ctx.res.writeHead(200, { ...ctx.responseHeaders, "content-type": "application/json" }).end("{}");
      return "answered";
    },
  });
  const plugins = [limit({ rules: ruleSet, limiter, legacyHeaders }), backend];
  const server = createServer((req, res) => {
    const ctx = contextFor(req, res);
    res.on("finish", () => logs.push(ctx.logFields));
    void runPipeline(plugins, ctx);
  });
  const port = await listen(server);
  t.teardown(async () => {
    await closeServer(server);
    for (const plugin of plugins) await plugin.close?.();
  });
  const get = (path: string, tokenId = "tok-1") =>
    fetch(`http://127.0.0.1:${port}${path}`, { headers: { "x-test-token-id": tokenId } });
  return { get, reached, logs };
}

test("limit: every matched policy is announced in draft-10 syntax, on success", async (t) => {
  const { get, logs } = await gateway(t, new MemoryLimiter());
  const res = await get("/v1/secret/foo");
  t.is(res.status, 200);
  const fact = logs.at(-1)?.rateLimit as LoggedFact<unknown>;
  t.deepEqual(factValue(fact), {
    allowed: true,
    source: "memory",
    rules: [
      { name: "burst", allowed: true, remaining: 1 },
      { name: "daily", allowed: true, remaining: 99 },
    ],
  });
  t.is(fact.json, JSON.stringify(factValue(fact)));
  t.is(res.headers.get("ratelimit-policy"), `"burst";q=2;w=1, "daily";q=100;w=86400`);
  t.is(res.headers.get("ratelimit"), `"burst";r=1;t=1, "daily";r=99;t=864`);
  for (const item of res.headers.get("ratelimit-policy")?.split(", ") ?? []) t.regex(item, POLICY_ITEM);
  for (const item of res.headers.get("ratelimit")?.split(", ") ?? []) t.regex(item, LIMIT_ITEM);
  t.is(res.headers.get("ratelimit-limit"), null); // legacy fields only on request
});

test("limit: a denied request gets 429, Retry-After and the headers, and never reaches the backend", async (t) => {
  // a minute-long burst period: a loaded machine must not refill the burst between the requests
  const slow = rules.map((rule) => (rule.name === "burst" ? { ...rule, periodMs: 60_000 } : rule));
  const { get, reached, logs } = await gateway(t, new MemoryLimiter(), false, slow);
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await get("/v1/secret/foo")).status);
  t.deepEqual(statuses, [200, 200, 429]);
  const denied = await get("/v1/secret/foo");
  t.is(denied.status, 429);
  t.regex(denied.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
  t.regex(denied.headers.get("ratelimit") ?? "", /^"burst";r=0;t=30, "daily";r=98;t=\d+$/);
  t.deepEqual(await denied.json(), { errors: ["rate limit exceeded, try again later"] });
  t.is(reached.length, 2);
  const fact = logs.at(-1)?.rateLimit;
  t.like(factValue(fact), { allowed: false, source: "memory" });
  t.true(
    logs.every((fields) => typeof fields.rateLimitMs === "number"),
    "every request waited for a decision",
  );
  const { retryAfterMs } = factValue(fact) as { retryAfterMs: number };
  t.true(retryAfterMs > 20_000 && retryAfterMs <= 30_000, `retryAfterMs ${retryAfterMs}`); // a burst refill: 30 s
  // the JSON the access line splices in is what JSON.stringify writes of the value, key order included
  t.is((fact as LoggedFact<unknown>).json, JSON.stringify(factValue(fact)));
  // another token is not slowed by the first one's burst (the daily rule counts the shared ip)
  t.is((await get("/v1/secret/foo", "tok-2")).status, 200);
});

test("limit: paths no rule matches pass untouched, without headers", async (t) => {
  const { get } = await gateway(t, new MemoryLimiter());
  const res = await get("/v1/auth/token/lookup-self");
  t.is(res.status, 200);
  t.is(res.headers.get("ratelimit-policy"), null);
});

test("limit: legacy RateLimit-Limit/-Remaining/-Reset name the tightest policy", async (t) => {
  const { get } = await gateway(t, new MemoryLimiter(), true);
  const res = await get("/v1/secret/foo");
  t.is(res.headers.get("ratelimit-limit"), "2");
  t.is(res.headers.get("ratelimit-remaining"), "1");
  t.is(res.headers.get("ratelimit-reset"), "1");
});

test("limit: a limiter that fails answers 503 with Retry-After, not 500", async (t) => {
  const broken: Limiter = { take: () => Promise.reject(new Error("ECONNREFUSED")), close: () => Promise.resolve() };
  const { get, reached, logs } = await gateway(t, broken);
  const res = await get("/v1/secret/foo");
  t.is(res.status, 503);
  t.is(res.headers.get("retry-after"), "1");
  t.is(reached.length, 0);
  // how long the request waited for the limiter is logged (and counted in the wait histogram) when it fails too
  t.is(typeof logs.at(-1)?.rateLimitMs, "number");
});

test("limit: a limiter that throws instead of rejecting also answers 503", async (t) => {
  const broken: Limiter = {
    take: () => {
      throw new Error("not connected");
    },
    close: () => Promise.resolve(),
  };
  const { get, reached, logs } = await gateway(t, broken);
  const res = await get("/v1/secret/foo");
  t.is(res.status, 503);
  t.deepEqual(await res.json(), { errors: ["rate limiting is unavailable, try again later"] });
  t.is(reached.length, 0);
  t.is(typeof logs.at(-1)?.rateLimitMs, "number");
});

test("limit: a rule that fails closed while Redis is down answers 503, the client is not at fault", async (t) => {
  const closed: Limiter = {
    take: async (request) => ({
      allowed: false,
      unavailable: true,
      retryAfterMs: 1000,
      source: "fallback",
      results: request.entries.map((e) => ({ ...e, allowed: false, remaining: 0, refillMs: 1000, resetMs: 1000 })),
    }),
    close: () => Promise.resolve(),
  };
  const { get } = await gateway(t, closed);
  const res = await get("/v1/sys/health");
  t.is(res.status, 503);
  t.is(res.headers.get("retry-after"), "1");
  t.is(res.headers.get("ratelimit"), `"daily";r=0;t=1`);
});

test("limit: a bad rule fails when the plugin is built, naming the rule", (t) => {
  const bad = [{ ...rules[0], limit: -1 } as RateLimitRule];
  t.throws(() => limit({ rules: bad, limiter: new MemoryLimiter() }), {
    instanceOf: ConfigError,
    message: /rules\[0\] \("burst"\)\.limit/,
  });
});
