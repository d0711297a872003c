import { setTimeout as sleep } from "node:timers/promises";
import test, { type ExecutionContext } from "ava";
import type { ConfigInput } from "../../src/config/schema.js";
import { certificateCheck } from "../../src/observability/health.js";
import { issueCertificate } from "../../src/tls/issue.js";
import { startBackend } from "../helpers/backend.js";
import { startRedis } from "../helpers/redis.js";
import { testPki } from "../helpers/tls.js";
import { type RunningTestGateway, startRunning } from "./harness.js";
import { parsePrometheusText, sampleValue } from "./prom-text.js";

interface ReadyBody {
  ready: boolean;
  notReady: string[];
  checks: Record<string, { ok: boolean; status?: number; error?: string }>;
}

async function readyz(gw: RunningTestGateway): Promise<{ status: number; body: ReadyBody }> {
  const reply = await gw.admin("/readyz");
  return { status: reply.status, body: JSON.parse(reply.body) as ReadyBody };
}

/** Polls /readyz until `want` holds (the report is cached for a second); returns the last answer. */
async function readyzUntil(gw: RunningTestGateway, want: (r: { status: number; body: ReadyBody }) => boolean) {
  let last = await readyz(gw);
  for (const end = Date.now() + 8_000; !want(last) && Date.now() < end; await sleep(100)) last = await readyz(gw);
  return last;
}

async function gauge(gw: RunningTestGateway, name: string): Promise<number> {
  return sampleValue(parsePrometheusText((await gw.admin("/metrics")).body), name);
}

/** A gateway over a test backend, with its limits in a Redis of its own (killed and restarted by the tests). */
async function overBackendAndRedis(t: ExecutionContext, rules: NonNullable<ConfigInput["rateLimit"]>["rules"]) {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const gw = await startRunning(t, { upstream: { url: backend.url }, rateLimit: { redis: { url: redis.url }, rules } });
  return { backend, redis, gw };
}

test("/readyz turns 503 naming the backend or Redis while either is away, and 200 again when it returns", async (t) => {
  const { backend, redis, gw } = await overBackendAndRedis(t, [
    { name: "reads", paths: ["secret/*"], key: "token", limit: 100, periodMs: 60_000 },
  ]);

  const up = await readyz(gw);
  t.is(up.status, 200, JSON.stringify(up.body));
  t.like(up.body, {
    ready: true,
    notReady: [],
    checks: { backend: { ok: true, status: 200 }, redis: { ok: true }, certificate: { ok: true } },
  });

  await backend.close();
  const noBackend = await readyzUntil(gw, (r) => r.status === 503);
  t.is(noBackend.status, 503);
  t.deepEqual(noBackend.body.notReady, ["backend"]);
  t.like(noBackend.body.checks, { backend: { ok: false, error: "ECONNREFUSED" }, redis: { ok: true } });
  t.is(await gauge(gw, "portcullis_backend_up"), 0);
  await backend.restart();
  t.is((await readyzUntil(gw, (r) => r.status === 200)).status, 200);

  await redis.kill();
  const noRedis = await readyzUntil(gw, (r) => r.status === 503);
  t.deepEqual(noRedis.body.notReady, ["redis"]);
  t.is(await gauge(gw, "portcullis_redis_up"), 0);
  // requests still pass, on the local fallback, and the gauge says so
  t.is((await gw.request("/v1/secret/app")).status, 200);
  t.is(await gauge(gw, "portcullis_ratelimit_fallback"), 1);

  await redis.restart();
  const back = await readyzUntil(gw, (r) => r.status === 200);
  t.is(back.status, 200, JSON.stringify(back.body));
  t.is(await gauge(gw, "portcullis_redis_up"), 1);
  // the limiter's probe finds Redis again within a second; the next decision comes from Redis
  for (const end = Date.now() + 5_000; Date.now() < end; await sleep(200)) {
    t.is((await gw.request("/v1/secret/app")).status, 200);
    if ((await gauge(gw, "portcullis_ratelimit_fallback")) === 0) break;
  }
  t.is(await gauge(gw, "portcullis_ratelimit_fallback"), 0);
});

test("without rate-limit rules, the token-lookup budget's local fallback shows on the fallback gauge", async (t) => {
  // rules: [] but the lookup budget (on by default) counts in Redis
  const { redis, gw } = await overBackendAndRedis(t, []);
  t.is((await gw.request("/v1/secret/app", { token: "hvs.unknown-1" })).status, 401);
  t.is(await gauge(gw, "portcullis_ratelimit_fallback"), 0);
  await redis.kill();
  // a token the cache does not know costs a lookup, counted on the local fallback now
  t.is((await gw.request("/v1/secret/app", { token: "hvs.unknown-2" })).status, 401);
  t.is(await gauge(gw, "portcullis_ratelimit_fallback"), 1);
});

test("a draining gateway is not ready", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startRunning(t, { upstream: { url: backend.url } });
  t.is((await readyz(gw)).status, 200);
  // a request holds the listener open while /readyz is asked
  backend.respondWith((_req, res) => setTimeout(() => res.writeHead(200).end("{}"), 600));
  const slow = gw.request("/v1/secret/slow");
  await sleep(100);
  const stopping = gw.running.stop(2_000);
  const draining = await readyz(gw);
  t.is(draining.status, 503);
  t.true(draining.body.notReady.includes("draining"));
  t.is((await slow).status, 200, "the in-flight request still completes");
  await stopping;
});

test("the certificate check fails for an expired or not yet valid certificate", async (t) => {
  const { ca } = testPki();
  const day = 86_400_000;
  const expired = issueCertificate(ca, {
    commonName: "old",
    usage: "server",
    notBefore: new Date(Date.now() - 10 * day),
    notAfter: new Date(Date.now() - day),
  });
  const future = issueCertificate(ca, {
    commonName: "new",
    usage: "server",
    notBefore: new Date(Date.now() + day),
    notAfter: new Date(Date.now() + 10 * day),
  });
  t.like(await certificateCheck(() => expired.cert)(), { ok: false, error: "expired" });
  t.like(await certificateCheck(() => future.cert)(), { ok: false, error: "not yet valid" });
  t.like(await certificateCheck(() => testPki().server.cert)(), { ok: true });
  t.like(await certificateCheck(() => undefined)(), { ok: false });
});
