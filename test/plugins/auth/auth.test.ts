import type { ExecutionContext } from "ava";
import test from "ava";
import { definePlugin } from "../../../src/pipeline/plugin.js";
import { type AuthOptions, auth } from "../../../src/plugins/auth/index.js";
import { backendVerifier } from "../../../src/plugins/auth/verifiers/backend.js";
import { finalStage, LOOKUP, type Reply, send, startFakeVault, startPipeline } from "./harness.js";

const TOKEN = "s.alice-0123456789";

async function setup(t: ExecutionContext, options: Partial<AuthOptions> = {}) {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  vault.tokens.set(TOKEN, { ttl: 3600 });
  const stage = auth({ verifier: backendVerifier({ upstream: vault.url }), ...options });
  const final = finalStage();
  const gateway = await startPipeline([stage, final.plugin]);
  t.teardown(() => gateway.close());
  return { vault, stage, final, gateway };
}

const body = (reply: Reply): unknown => JSON.parse(reply.body);

for (const [desc, headers, source] of [
  ["the X-Nomad-Token header", { "x-nomad-token": TOKEN }, "header"],
  ["the X-Vault-Token header", { "X-Vault-Token": TOKEN }, "header"],
  ["the token cookie", { cookie: `theme=dark; token=${TOKEN}` }, "cookie"],
  [
    "a header and the cookie with the same token (the header counts)",
    { "x-nomad-token": TOKEN, cookie: `token=${TOKEN}` },
    "header",
  ],
] as const) {
  test(`a valid token in ${desc} passes, with ctx.token and a tokenId set`, async (t) => {
    const { gateway } = await setup(t);
    const reply = await gateway.request("/v1/secret/foo", { headers });
    t.is(reply.status, 200);
    const echo = body(reply) as { hasToken: boolean; tokenId: string; auth: string };
    t.true(echo.hasToken);
    t.regex(echo.tokenId, /^[0-9a-f]{64}$/);
    t.is(echo.auth, source);
  });
}

test("a header and a cookie carrying different tokens are a 400", async (t) => {
  const { gateway, vault } = await setup(t);
  const reply = await gateway.request("/v1/secret/foo", {
    headers: { "x-nomad-token": TOKEN, cookie: "token=s.other" },
  });
  t.is(reply.status, 400);
  t.deepEqual(body(reply), { errors: ["the request carries more than one token"] });
  t.is(vault.count(LOOKUP), 0);
});

test("a repeated token header is a 400, even with the same value twice", async (t) => {
  const { gateway } = await setup(t);
  const reply = await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": [TOKEN, TOKEN] } });
  t.is(reply.status, 400);
});

test("a request without a token is a 401 'missing client token' and never forwarded", async (t) => {
  const { gateway, final, vault } = await setup(t);
  const reply = await gateway.request("/v1/secret/foo");
  t.is(reply.status, 401);
  t.deepEqual(body(reply), { errors: ["missing client token"] });
  t.is(final.forwarded(), 0);
  t.is(vault.count(LOOKUP), 0);
});

test("an unknown token is a 401 with an errors body that does not contain it", async (t) => {
  const { gateway, final } = await setup(t);
  const reply = await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": "s.forged-token-xyz" } });
  t.is(reply.status, 401);
  t.is(reply.headers["content-type"], "application/json");
  t.deepEqual(body(reply), { errors: ["invalid or expired token"] });
  t.false(reply.body.includes("s.forged-token-xyz"));
  t.is(final.forwarded(), 0);
});

test("1000 concurrent requests with one new token cause exactly one lookup at the backend", async (t) => {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  vault.tokens.set(TOKEN, {});
  let arrived = 0;
  let releaseLookup: () => void = () => {};
  vault.gate = new Promise((resolve) => {
    releaseLookup = resolve;
  });
  // counts requests as they reach the auth stage; the lookup is answered only once all 1000 wait on it
  const counter = definePlugin({
    name: "counter",
    handle() {
      if (++arrived === 1000) setImmediate(releaseLookup);
      return "continue";
    },
  });
  const final = finalStage();
  const gateway = await startPipeline([
    counter,
    auth({ verifier: backendVerifier({ upstream: vault.url }) }),
    final.plugin,
  ]);
  t.teardown(() => gateway.close());
  const replies = await Promise.all(
    Array.from({ length: 1000 }, () => send(`${gateway.url}/v1/secret/foo`, { headers: { "x-nomad-token": TOKEN } })),
  );
  t.true(replies.every((r) => r.status === 200));
  t.is(vault.count(LOOKUP), 1);
  t.is(final.forwarded(), 1000);
});

/** A clock the test moves by hand, so TTL tests do not depend on how busy the machine is. */
function manualClock() {
  let now = 0;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

test("an invalid token is remembered for negativeTtl, then checked again (and may have become valid)", async (t) => {
  const clock = manualClock();
  const { gateway, vault } = await setup(t, { cache: { negativeTtlMs: 5_000, now: clock.now } });
  const headers = { "x-nomad-token": "s.late" };
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 401);
  vault.tokens.set("s.late", {});
  clock.advance(4_999);
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 401);
  t.is(vault.count(LOOKUP), 1);
  clock.advance(2);
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 200);
  t.is(vault.count(LOOKUP), 2);
});

test("a token revoked at the backend directly stops working within positiveTtl", async (t) => {
  const clock = manualClock();
  const { gateway, vault } = await setup(t, { cache: { positiveTtlMs: 30_000, now: clock.now } });
  const headers = { "x-nomad-token": TOKEN };
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 200);
  vault.tokens.delete(TOKEN);
  clock.advance(29_999);
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 200); // still cached: the documented bound
  clock.advance(2);
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 401);
});

test("a backend that is down gives 503, not 401, and the token works once the backend is back", async (t) => {
  const { gateway, vault } = await setup(t);
  const headers = { "x-nomad-token": TOKEN };
  vault.mode = "sealed";
  const reply = await gateway.request("/v1/secret/foo", { headers });
  t.is(reply.status, 503);
  t.deepEqual(body(reply), { errors: ["the backend is unavailable, try again later"] });
  t.is(reply.headers["retry-after"], "1");
  vault.mode = "ok";
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 200);
});

test("an unreachable backend gives 503, not 401", async (t) => {
  const { gateway, vault } = await setup(t);
  await vault.close();
  const reply = await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": TOKEN } });
  t.is(reply.status, 503);
  t.false(reply.body.includes(TOKEN));
});

test("allow-listed paths pass without a token and without asking the backend", async (t) => {
  const { gateway, vault } = await setup(t);
  for (const path of ["/v1/auth/userpass/login/alice", "/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/unseal"]) {
    const reply = await gateway.request(path, { method: path.includes("health") ? "GET" : "POST" });
    t.is(reply.status, 200, path);
    t.like(body(reply), { hasToken: false, tokenId: null, auth: "anonymous" });
  }
  t.is(vault.count(LOOKUP), 0);
});

test("a token sent to an allow-listed path is neither checked nor handed on: an invalid one does not fail", async (t) => {
  const { gateway, vault } = await setup(t);
  const reply = await gateway.request("/v1/auth/userpass/login/alice", {
    method: "POST",
    headers: { "x-nomad-token": "s.expired-long-ago" },
  });
  t.is(reply.status, 200);
  t.like(body(reply), { hasToken: false });
  t.is(vault.count(LOOKUP), 0);
});

test("on an allow-listed path conflicting tokens are ignored: a browser with stale cookies can log in", async (t) => {
  const { gateway } = await setup(t);
  const reply = await gateway.request("/v1/auth/userpass/login/alice", {
    method: "POST",
    headers: { "x-nomad-token": "s.one", cookie: "token=s.two; token=s.three" },
  });
  t.is(reply.status, 200);
  t.like(body(reply), { hasToken: false, auth: "anonymous" });
});

test("login look-alikes are not allow-listed and need a token", async (t) => {
  const { gateway } = await setup(t);
  for (const path of ["/v1/auth/userpass/loginx", "/v1/auth/login", "/v1/sys/healthx", "/v1/sys/seal"]) {
    t.is((await gateway.request(path, { method: "POST" })).status, 401, path);
  }
});

test("a configured allow-list replaces the default one", async (t) => {
  const { gateway } = await setup(t, { allowList: ["sys/health"] });
  t.is((await gateway.request("/v1/sys/health")).status, 200);
  t.is((await gateway.request("/v1/auth/userpass/login/alice", { method: "POST" })).status, 401);
});

test("configurable header names: only the configured headers are read", async (t) => {
  const { gateway } = await setup(t, { tokenSources: { headers: ["x-api-token"], cookie: "sid" } });
  t.is((await gateway.request("/v1/secret/foo", { headers: { "x-api-token": TOKEN } })).status, 200);
  t.is((await gateway.request("/v1/secret/foo", { headers: { cookie: `sid=${TOKEN}` } })).status, 200);
  t.is((await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": TOKEN } })).status, 401);
});

test("no error answer ever contains the token", async (t) => {
  const { gateway, vault } = await setup(t);
  const secret = "s.never-show-me-42";
  const replies = [
    await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": secret } }),
    await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": secret, cookie: `token=${TOKEN}` } }),
    await gateway.request("/v1/secret/foo", { headers: { "x-nomad-token": [secret, secret] } }),
    await gateway.request("/v1/secret/foo", {
      method: "POST",
      headers: { cookie: `token=${secret}`, origin: "https://evil.example" },
    }),
  ];
  vault.mode = "sealed";
  // a token not seen before (the first one is remembered as invalid, rightly so)
  replies.push(await gateway.request("/v1/secret/bar", { headers: { "x-nomad-token": `${secret}-2` } }));
  t.deepEqual(
    replies.map((r) => r.status),
    [401, 400, 400, 403, 503],
  );
  for (const reply of replies) {
    t.false(reply.body.includes(secret));
    t.false(JSON.stringify(reply.headers).includes(secret));
  }
});
