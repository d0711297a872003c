import test from "ava";
import { createLogger } from "../../src/observability/log.js";
import { createGatewayMetrics } from "../../src/observability/metrics.js";
import { methodClass, routeClass } from "../../src/observability/route-class.js";
import { startAdmin } from "../../src/server/admin.js";
import { type Responder, startBackend, TEST_TOKEN, vaultLikeOk } from "../helpers/backend.js";
import { startRunning } from "./harness.js";
import { parsePrometheusText, sampleValue } from "./prom-text.js";

test("route classes: at most two segments, and the second only under auth/, sys/ and identity/", (t) => {
  const cases: Array<[string, string]> = [
    ["/v1/secret/app/db-password", "secret"],
    ["/v1/secret", "secret"],
    ["/v1/kv/data/team/x", "kv"],
    ["/v1/auth/token/lookup/hvs.SECRET", "auth/token"],
    ["/v1/auth/userpass/login/alice", "auth/userpass"],
    ["/v1/sys/health", "sys/health"],
    ["/v1/sys", "sys"],
    ["/v1/identity/entity/id/abc", "identity/entity"],
    ["/v1/", "root"],
    ["/v2/secret", "invalid"],
    [`/v1/${"m".repeat(100)}/x`, "m".repeat(64)],
  ];
  for (const [path, expected] of cases) t.is(routeClass(path), expected, path);
  t.is(methodClass("GET"), "GET");
  t.is(methodClass("LIST"), "LIST");
  t.is(methodClass("BREW"), "other");
});

test("each gateway has a registry of its own, never prom-client's global one", async (t) => {
  const a = createGatewayMetrics({ processMetrics: false });
  const b = createGatewayMetrics({ processMetrics: false });
  t.not(a.registry, b.registry);
  const { register } = await import("prom-client");
  t.is(await register.getSingleMetricAsString("portcullis_requests_total").catch(() => ""), "");
});

const answers: Responder = (req, res, body) => {
  if (req.url === "/v1/kv/broken") return void res.writeHead(500).end('{"errors":["boom"]}');
  vaultLikeOk(req, res, body);
};

test("/metrics parses as Prometheus text and its counters move with traffic; no token or path in any label", async (t) => {
  const backend = await startBackend(answers);
  t.teardown(() => backend.close());
  const gw = await startRunning(t, {
    upstream: { url: backend.url },
    rateLimit: { rules: [{ name: "reads", paths: ["secret/*"], key: "token", limit: 2, periodMs: 60_000 }] },
  });
  const scrape = async () => {
    const reply = await gw.admin("/metrics");
    t.is(reply.status, 200);
    return { text: reply.body, families: parsePrometheusText(reply.body) };
  };
  const before = await scrape();
  t.is(sampleValue(before.families, "portcullis_requests_total"), 0);
  t.is(before.families.get("portcullis_request_duration_seconds")?.type, "histogram");

  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await gw.request("/v1/secret/app")).status);
  statuses.push((await gw.request("/v1/secret/app", { token: "hvs.not-a-valid-token" })).status);
  statuses.push((await gw.request("/v1/sys/health", { token: null })).status);
  statuses.push((await gw.request("/v1/never-seen-mount/x", { token: null })).status);
  statuses.push((await gw.request("/v2/whatever")).status);
  statuses.push((await gw.request("/v1/kv/broken")).status);
  statuses.push((await gw.request(`/v1/auth/token/lookup/${TEST_TOKEN}`)).status);
  t.deepEqual(statuses, [200, 200, 429, 401, 200, 401, 404, 500, 200]);

  const { text, families } = await scrape();
  const requests = (labels: Record<string, string>) => sampleValue(families, "portcullis_requests_total", labels);
  t.is(requests({ route: "secret", method: "GET", status: "200" }), 2);
  t.is(requests({ route: "secret", method: "GET", status: "429" }), 1);
  t.is(requests({ route: "secret", method: "GET", status: "401" }), 1);
  t.is(requests({ route: "sys/health", status: "200" }), 1);
  t.is(requests({ route: "other", status: "401" }), 1, "an anonymous client cannot mint a route class");
  t.is(requests({ route: "invalid", status: "404" }), 1);
  t.is(requests({ route: "kv", status: "500" }), 1);
  t.is(requests({ route: "auth/token", status: "200" }), 1);
  t.is(sampleValue(families, "portcullis_request_duration_seconds_count", { route: "secret" }), 4);
  t.is(sampleValue(families, "portcullis_backend_duration_seconds_count"), 5);
  // the wait for rate-limit decisions, as the access lines give it in ms: the rule's three requests (the first one's
  // token lookup also waited for the lookup budget), and the bad token's budget take before its lookup
  t.is(families.get("portcullis_ratelimit_wait_seconds")?.type, "histogram");
  const waits = gw.logs.flatMap((line) =>
    line.msg === "request" && typeof line.rateLimitMs === "number" ? [line.rateLimitMs] : [],
  );
  t.is(waits.length, 4);
  const wait = (suffix: string, labels: Record<string, string> = {}) =>
    sampleValue(families, `portcullis_ratelimit_wait_seconds_${suffix}`, labels);
  t.is(wait("count"), 4);
  t.true(Math.abs(wait("sum") - waits.reduce((a, b) => a + b, 0) / 1000) < 1e-9, "the sum is in seconds");
  for (const le of ["0.0001", "0.001", "0.01"]) {
    t.is(wait("bucket", { le }), waits.filter((ms) => ms / 1000 <= Number(le)).length, `le=${le}`);
  }
  t.is(sampleValue(families, "portcullis_backend_errors_total", { kind: "status_5xx", stage: "proxy" }), 1);
  const decisions = (decision: string) =>
    sampleValue(families, "portcullis_ratelimit_decisions_total", { rule: "reads", decision, source: "memory" });
  t.is(decisions("allowed"), 2);
  t.is(decisions("denied"), 1);
  t.true(sampleValue(families, "portcullis_token_cache_misses_total") >= 2); // TEST_TOKEN once, the bad one once
  t.true(sampleValue(families, "portcullis_token_cache_hits_total") >= 3);
  const expiry = sampleValue(families, "portcullis_tls_cert_expiry_seconds");
  t.true(expiry > 0 && expiry < 400 * 86_400, `expiry ${expiry}`);
  t.is(sampleValue(families, "portcullis_ready"), 1);
  t.is(sampleValue(families, "portcullis_backend_up"), 1);
  t.true(families.has("process_cpu_user_seconds_total"));
  t.true(families.has("nodejs_heap_size_used_bytes"));
  for (const forbidden of [TEST_TOKEN, "hvs.", "/v1/", "never-seen-mount", "secret/app"]) {
    t.false(text.includes(forbidden), `the metrics contain ${forbidden}`);
  }

  // the backend goes away: a forward that cannot connect is counted as unavailable, at the proxy stage
  await backend.close();
  t.is((await gw.request("/v1/kv/x")).status, 503);
  const after = parsePrometheusText((await gw.admin("/metrics")).body);
  t.is(sampleValue(after, "portcullis_backend_errors_total", { kind: "unavailable", stage: "proxy" }), 1);
});

test("the admin listener answers /healthz, 404 elsewhere and 405 to other methods", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startRunning(t, { upstream: { url: backend.url } });
  const health = await gw.admin("/healthz");
  t.is(health.status, 200);
  t.like(JSON.parse(health.body), { status: "ok", pid: process.pid });
  t.is((await gw.admin("/nope")).status, 404);
  t.is((await fetch(`${gw.adminUrl}/metrics`, { method: "POST" })).status, 405);
  t.regex(gw.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  // a taken port is a configuration error naming the key, not a stack trace
  const taken = Number(new URL(gw.adminUrl).port);
  const again = startAdmin({
    host: "127.0.0.1",
    port: taken,
    logger: createLogger({ level: "silent" }),
    metrics: async () => ({ contentType: "text/plain", body: "" }),
    readiness: async () => ({ ready: true, notReady: [], checks: {} }),
  });
  await t.throwsAsync(again, { message: `admin: cannot listen on 127.0.0.1:${taken} (EADDRINUSE)` });
});
