import test, { type ExecutionContext } from "ava";
import type { RequestContext } from "../../../src/pipeline/context.js";
import { type AuthOptions, auth } from "../../../src/plugins/auth/index.js";
import { backendVerifier } from "../../../src/plugins/auth/verifiers/backend.js";
import { type CannedResponse, finalStage, LOOKUP, send, startFakeVault, startPipeline } from "./harness.js";

const NEW_TOKEN = "s.fresh-login-token";

interface Scenario {
  /** The login answer the "backend" gives. */
  login?: CannedResponse;
  options?: Partial<AuthOptions>;
}

/** A login answer shaped like Vault's. */
function loginAnswer(
  auth: Record<string, unknown>,
  status = 200,
  headers: CannedResponse["headers"] = {},
): CannedResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: Buffer.from(JSON.stringify({ auth })),
  };
}

async function setup(t: ExecutionContext, scenario: Scenario = {}) {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  const login = scenario.login ?? loginAnswer({ client_token: NEW_TOKEN, lease_duration: 3600, policies: ["default"] });
  // stands in for the proxy: logins get the canned answer, revoke-self really goes to the fake backend
  const final = finalStage(async (ctx: RequestContext): Promise<CannedResponse | undefined> => {
    if (ctx.path.startsWith("/v1/auth/userpass/login/")) {
      // the backend issued the token: from now on it knows it (lookups would succeed)
      vault.tokens.set(NEW_TOKEN, {});
      return { ...login, headers: { ...login.headers } };
    }
    if (ctx.path === "/v1/auth/token/revoke-self") {
      const reply = await send(`${vault.url.origin}${ctx.path}`, {
        method: "POST",
        headers: { "x-vault-token": ctx.token ?? "" },
      });
      return { status: reply.status, headers: {} };
    }
    return undefined;
  });
  const stage = auth({ verifier: backendVerifier({ upstream: vault.url }), ...scenario.options });
  const gateway = await startPipeline([stage, final.plugin]);
  t.teardown(() => gateway.close());
  return { vault, gateway, final };
}

const loginPath = "/v1/auth/userpass/login/alice";
const postLogin = { method: "POST", body: '{"password":"pw"}' };

test("a successful login sets the token cookie: HttpOnly, Secure, SameSite=Strict, Path=/v1/, Max-Age = lease", async (t) => {
  const { gateway } = await setup(t);
  const reply = await gateway.request(loginPath, postLogin);
  t.is(reply.status, 200);
  t.deepEqual(reply.headers["set-cookie"], [
    `token=${NEW_TOKEN}; HttpOnly; Secure; SameSite=Strict; Path=/v1/; Max-Age=3600`,
  ]);
  t.is(JSON.parse(reply.body).auth.client_token, NEW_TOKEN); // the JSON goes on as the backend sent it
});

test("a login with lease_duration 0 gets a session cookie (no Max-Age)", async (t) => {
  const { gateway } = await setup(t, { login: loginAnswer({ client_token: NEW_TOKEN, lease_duration: 0 }) });
  const reply = await gateway.request(loginPath, postLogin);
  t.deepEqual(reply.headers["set-cookie"], [`token=${NEW_TOKEN}; HttpOnly; Secure; SameSite=Strict; Path=/v1/`]);
});

test("the backend's own Set-Cookie headers are kept beside the token cookie", async (t) => {
  const login = loginAnswer({ client_token: NEW_TOKEN, lease_duration: 60 }, 200, { "set-cookie": ["lb=a1; Path=/"] });
  const { gateway } = await setup(t, { login });
  const reply = await gateway.request(loginPath, postLogin);
  t.deepEqual(reply.headers["set-cookie"], [
    "lb=a1; Path=/",
    `token=${NEW_TOKEN}; HttpOnly; Secure; SameSite=Strict; Path=/v1/; Max-Age=60`,
  ]);
});

test("secureCookie: false leaves out Secure, for a plain-HTTP development listener", async (t) => {
  const { gateway } = await setup(t, { options: { secureCookie: false } });
  const reply = await gateway.request(loginPath, postLogin);
  t.deepEqual(reply.headers["set-cookie"], [`token=${NEW_TOKEN}; HttpOnly; SameSite=Strict; Path=/v1/; Max-Age=3600`]);
});

test("a failed login, or an answer without auth.client_token, sets no cookie", async (t) => {
  for (const login of [
    loginAnswer({ client_token: NEW_TOKEN, lease_duration: 60 }, 400),
    { status: 200, headers: {}, body: Buffer.from('{"data":{}}') },
    { status: 200, headers: {}, body: Buffer.from("not json") },
  ]) {
    const { gateway } = await setup(t, { login });
    const reply = await gateway.request(loginPath, postLogin);
    t.is(reply.headers["set-cookie"], undefined);
  }
});

test("a token that is not a valid cookie value gets no cookie rather than an injected attribute", async (t) => {
  const { gateway } = await setup(t, {
    login: loginAnswer({ client_token: "s.x; Domain=evil.example", lease_duration: 60 }),
  });
  const reply = await gateway.request(loginPath, postLogin);
  t.is(reply.status, 200);
  t.is(reply.headers["set-cookie"], undefined);
});

test("a login posted from another origin is answered but sets no cookie (login CSRF)", async (t) => {
  const { gateway } = await setup(t);
  const reply = await gateway.request(loginPath, { ...postLogin, headers: { origin: "https://evil.example" } });
  t.is(reply.status, 200);
  t.is(reply.headers["set-cookie"], undefined);
});

test("after a login the cookie alone authenticates, without a lookup (the cache was primed)", async (t) => {
  const { gateway, vault } = await setup(t);
  const login = await gateway.request(loginPath, postLogin);
  const cookie = String(login.headers["set-cookie"]?.[0]).split(";")[0] ?? "";
  const reply = await gateway.request("/v1/secret/foo", { headers: { cookie } });
  t.is(reply.status, 200);
  t.like(JSON.parse(reply.body), { hasToken: true, auth: "cookie" });
  t.is(vault.count(LOOKUP), 0);
});

test("revoke-self drops the cached token at once and clears the cookie", async (t) => {
  const { gateway, vault } = await setup(t, { options: { cache: { positiveTtlMs: 60_000 } } });
  vault.tokens.set("s.bob", {});
  const headers = { "x-nomad-token": "s.bob" };
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 200);
  const revoke = await gateway.request("/v1/auth/token/revoke-self", { method: "POST", headers });
  t.is(revoke.status, 204);
  t.deepEqual(revoke.headers["set-cookie"], ["token=; Max-Age=0; Path=/v1/; HttpOnly; Secure; SameSite=Strict"]);
  // well within positiveTtl, yet refused: the entry was dropped, not left to expire
  t.is((await gateway.request("/v1/secret/foo", { headers })).status, 401);
  t.is(vault.count(LOOKUP), 2);
});

test("a refused revoke-self leaves the cache and the cookie alone", async (t) => {
  const { gateway, vault } = await setup(t);
  vault.tokens.set("s.carol", {});
  const headers = { "x-nomad-token": "s.carol" };
  await gateway.request("/v1/secret/foo", { headers });
  vault.tokens.delete("s.carol"); // the backend refuses the revoke (403); our cached answer stands until its TTL
  const revoke = await gateway.request("/v1/auth/token/revoke-self", { method: "POST", headers });
  t.is(revoke.status, 403);
  t.is(revoke.headers["set-cookie"], undefined);
});
