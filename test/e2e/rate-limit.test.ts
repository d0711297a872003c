import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "node:https";
import test, { type ExecutionContext } from "ava";
import type { ConfigInput } from "../../src/config/schema.js";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import type { Reply } from "../helpers/gateway.js";
import { startRedis } from "../helpers/redis.js";
import { testPki, writeServerFiles } from "../helpers/tls.js";
import { startStack } from "./harness.js";

const SECRET = "a-shared-secret-of-at-least-32-characters";

// A Redis command slower than commandTimeoutMs switches the gateway to its local fallback, which counts afresh: on a
// machine loaded by the whole suite 250 ms was once not enough, and the exact counts below would then be wrong
const PATIENT = { commandTimeoutMs: 2_000 };

function readsRule(limit: number, periodMs = 60_000) {
  return { name: "reads", paths: ["secret/*"], key: "token" as const, limit, periodMs, burst: limit };
}

async function withRedis(t: ExecutionContext) {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  return redis;
}

test("exactly N of 3N concurrent requests pass; the rest get 429 with Retry-After and never reach the backend", async (t) => {
  const redis = await withRedis(t);
  const { store, gw, root } = await startStack(t, {
    secret: SECRET,
    rateLimit: { redis: { url: redis.url, ...PATIENT }, rules: [readsRule(10)] },
  });
  void store;
  const replies = await Promise.all(
    Array.from({ length: 30 }, () => gw.request("/v1/secret/missing", { token: root })),
  );
  const passed = replies.filter((r) => r.status !== 429);
  const limited = replies.filter((r) => r.status === 429);
  t.is(passed.length, 10);
  t.is(limited.length, 20);
  const sample = limited[0] as Reply;
  t.regex(sample.headers["retry-after"] ?? "", /^[1-9]\d*$/);
  t.deepEqual(JSON.parse(sample.body), { errors: ["rate limit exceeded, try again later"] });
  t.regex(String(sample.headers["ratelimit-policy"]), /^"reads";q=10;w=60$/);
  t.regex(String(sample.headers.ratelimit), /^"reads";r=0;t=\d+$/);
  t.regex(String(passed[0]?.headers["ratelimit-policy"]), /"reads";q=10;w=60/);
});

test("one token's exhausted limit does not slow a second token", async (t) => {
  const redis = await withRedis(t);
  const { gw, root } = await startStack(t, {
    secret: SECRET,
    rateLimit: { redis: { url: redis.url, ...PATIENT }, rules: [readsRule(3)] },
  });
  const created = await gw.request("/v1/auth/token/create", {
    method: "POST",
    token: root,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ policies: ["root"] }),
  });
  const other = JSON.parse(created.body).auth.client_token as string;
  for (let i = 0; i < 4; i++) await gw.request("/v1/secret/x", { token: root });
  t.is((await gw.request("/v1/secret/x", { token: root })).status, 429);
  t.not((await gw.request("/v1/secret/x", { token: other })).status, 429);
});

test("the login rule limits by client address without any token", async (t) => {
  const redis = await withRedis(t);
  const { gw } = await startStack(t, {
    secret: SECRET,
    rateLimit: {
      redis: { url: redis.url, ...PATIENT },
      rules: [{ name: "login", paths: ["auth/*/login/*"], key: "ip", limit: 3, periodMs: 60_000, burst: 3 }],
    },
  });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const reply = await gw.request("/v1/auth/userpass/login/mallory", {
      method: "POST",
      token: null,
      headers: { "content-type": "application/json" },
      body: `{"password":"guess-${i}"}`,
    });
    statuses.push(reply.status);
  }
  t.deepEqual(statuses, [400, 400, 400, 429, 429]);
});

test("Retry-After is honest: waiting it out lets the next request through, and not much earlier", async (t) => {
  const redis = await withRedis(t);
  const { gw, root } = await startStack(t, {
    secret: SECRET,
    rateLimit: { redis: { url: redis.url, ...PATIENT }, rules: [readsRule(2, 8_000)] }, // one request back every 4 s
  });
  const first = await Promise.all([1, 2, 3].map(() => gw.request("/v1/secret/x", { token: root })));
  const limitedAt = performance.now();
  t.is(first.filter((r) => r.status === 429).length, 1);
  const waitMs = Number(first.find((r) => r.status === 429)?.headers["retry-after"]) * 1000;
  t.true(waitMs >= 3_000 && waitMs <= 4_000, `Retry-After ${waitMs} ms`);
  // wide margins on both sides: the machine may be busy, and Retry-After is rounded up to whole seconds
  await new Promise((resolve) => setTimeout(resolve, waitMs - 2_500));
  t.is((await gw.request("/v1/secret/x", { token: root })).status, 429, "well before Retry-After");
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, limitedAt + waitMs + 100 - performance.now())));
  t.not((await gw.request("/v1/secret/x", { token: root })).status, 429, "after Retry-After");
});

test("Redis killed under load: no request fails because of it; restarted: limits come from Redis again", async (t) => {
  const redis = await withRedis(t);
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const { gw } = await startStack(t, {
    secret: SECRET,
    upstream: { url: backend.url },
    rateLimit: { redis: { url: redis.url, commandTimeoutMs: 200 }, rules: [readsRule(1_000_000)] },
  });
  const statuses: number[] = [];
  let outage = false;
  let duringOutage = 0;
  let running = true;
  const load = (async () => {
    while (running) {
      const startedInOutage = outage;
      const batch = await Promise.all(Array.from({ length: 10 }, () => gw.request("/v1/secret/x")));
      statuses.push(...batch.map((r) => r.status));
      if (startedInOutage && outage) duringOutage += batch.length;
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await redis.kill();
  outage = true;
  // Redis stays down until requests were served meanwhile (bounded: a busy machine is slow, not stuck)
  for (const end = Date.now() + 15_000; duringOutage === 0 && Date.now() < end; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  outage = false;
  await redis.restart();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  running = false;
  await load;
  t.true(duringOutage > 0, "requests were served while Redis was down");
  t.deepEqual([...new Set(statuses)], [200]);
  // the client reconnects with backoff and the limiter probes once a second: allow a few seconds. (The keys of
  // so generous a rule expire within milliseconds, so Redis's own count of script calls is what tells.)
  let scriptCalls = 0;
  for (let i = 0; i < 20 && scriptCalls === 0; i++) {
    await gw.request("/v1/secret/x");
    const stats = await redis.command("INFO", "commandstats");
    scriptCalls = Number(/cmdstat_(?:evalsha|eval):calls=(\d+)/.exec(stats)?.[1] ?? 0);
    if (scriptCalls === 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.true(scriptCalls >= 1, "the limiter runs its script in Redis again after the restart");
});

async function gatewayProcess(t: ExecutionContext, config: ConfigInput): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/e2e/fixtures/gateway-process.ts", JSON.stringify(config)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  });
  const started = once(child.stdout, "data") as Promise<[Buffer]>;
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`gateway process exited with ${code} before listening`);
  });
  const [line] = await Promise.race([started, exited]);
  return (JSON.parse(line.toString()) as { port: number }).port;
}

function get(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    request(
      { host: "127.0.0.1", port, path: "/v1/secret/x", agent, headers: { "x-nomad-token": TEST_TOKEN } },
      (res) => {
        res.resume().on("end", () => resolve(res.statusCode ?? 0));
      },
    )
      .on("error", reject)
      .end();
  });
}

test("two gateway processes sharing one Redis admit exactly N together", async (t) => {
  const redis = await withRedis(t);
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const files = await writeServerFiles(t);
  const config: ConfigInput = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: files.certFile, keyFile: files.keyFile },
    upstream: { url: backend.url },
    admin: { enabled: false },
    secret: SECRET,
    rateLimit: { redis: { url: redis.url, ...PATIENT }, gatewayCount: 2, rules: [readsRule(20)] },
  };
  const ports = await Promise.all([gatewayProcess(t, config), gatewayProcess(t, config)]);
  const agent = new Agent({ ca: testPki().ca.cert, keepAlive: true, servername: "localhost" });
  t.teardown(() => agent.destroy());
  const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => get(ports[i % 2] as number, agent)));
  t.is(statuses.filter((s) => s === 200).length, 20);
  t.is(statuses.filter((s) => s === 429).length, 40);
  t.is(backend.requests.length, 20);
});
