import type { IncomingMessage } from "node:http";
import test, { type ExecutionContext } from "ava";
import { type AuthOptions, auth } from "../../../src/plugins/auth/index.js";
import { createOriginCheck } from "../../../src/plugins/auth/origin.js";
import { backendVerifier } from "../../../src/plugins/auth/verifiers/backend.js";
import { finalStage, LOOKUP, startFakeVault, startPipeline } from "./harness.js";

const TOKEN = "s.dave-token";

async function setup(t: ExecutionContext, options: Partial<AuthOptions> = {}) {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  vault.tokens.set(TOKEN, {});
  const final = finalStage();
  const gateway = await startPipeline([
    auth({ verifier: backendVerifier({ upstream: vault.url }), ...options }),
    final.plugin,
  ]);
  t.teardown(() => gateway.close());
  // the harness listens on plain HTTP, so the gateway's own origin is http://<host>
  return { vault, final, gateway, self: gateway.url };
}

const cookie = `token=${TOKEN}`;

for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
  test(`a cookie-authenticated ${method} from another Origin is refused with 403 before any lookup`, async (t) => {
    const { gateway, vault, final } = await setup(t);
    const reply = await gateway.request("/v1/secret/foo", {
      method,
      headers: { cookie, origin: "https://evil.example" },
    });
    t.is(reply.status, 403);
    t.deepEqual(JSON.parse(reply.body), { errors: ["cross-site request refused"] });
    t.is(vault.count(LOOKUP), 0);
    t.is(final.forwarded(), 0);
  });
}

test("a header-authenticated POST from another Origin is allowed (a page cannot set the header cross-site)", async (t) => {
  const { gateway } = await setup(t);
  const reply = await gateway.request("/v1/secret/foo", {
    method: "POST",
    headers: { "x-nomad-token": TOKEN, origin: "https://evil.example" },
  });
  t.is(reply.status, 200);
});

test("a cookie-authenticated POST from our own Origin, or naming no origin at all, is allowed", async (t) => {
  const { gateway, self } = await setup(t);
  t.is((await gateway.request("/v1/secret/foo", { method: "POST", headers: { cookie, origin: self } })).status, 200);
  t.is((await gateway.request("/v1/secret/foo", { method: "POST", headers: { cookie } })).status, 200);
});

test("without an Origin the Referer decides", async (t) => {
  const { gateway, self } = await setup(t);
  const foreign = { cookie, referer: "https://evil.example/page?x=1" };
  t.is((await gateway.request("/v1/secret/foo", { method: "POST", headers: foreign })).status, 403);
  const own = { cookie, referer: `${self}/ui/secrets` };
  t.is((await gateway.request("/v1/secret/foo", { method: "POST", headers: own })).status, 200);
});

test("the same host over https counts as our own origin (e.g. behind a TLS-terminating balancer)", async (t) => {
  const { gateway, self } = await setup(t);
  const origin = `https://${new URL(self).host}`;
  t.is((await gateway.request("/v1/secret/foo", { method: "POST", headers: { cookie, origin } })).status, 200);
});

test("an opaque Origin ('null'), another port or another host is cross-site", async (t) => {
  const { gateway, self } = await setup(t);
  const url = new URL(self);
  for (const origin of [
    "null",
    `http://${url.hostname}:1`,
    `https://${url.hostname}:1`,
    "http://localhost.evil.example",
  ]) {
    const reply = await gateway.request("/v1/secret/foo", { method: "POST", headers: { cookie, origin } });
    t.is(reply.status, 403, origin);
  }
});

test("safe methods with the cookie are not checked (GET, HEAD, OPTIONS)", async (t) => {
  const { gateway } = await setup(t);
  for (const method of ["GET", "HEAD", "OPTIONS"]) {
    const reply = await gateway.request("/v1/secret/foo", {
      method,
      headers: { cookie, origin: "https://evil.example" },
    });
    t.is(reply.status, 200, method);
  }
});

test("configured allowedOrigins replace the Host-based default", async (t) => {
  const { gateway, self } = await setup(t, { allowedOrigins: ["https://vault.example.com:443"] });
  const post = (origin: string) => gateway.request("/v1/secret/foo", { method: "POST", headers: { cookie, origin } });
  t.is((await post("https://vault.example.com")).status, 200);
  t.is((await post(self)).status, 403);
});

test("an allowedOrigins entry that is not an http(s) origin is refused when the plugin is built", async (t) => {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  t.throws(() => auth({ verifier: backendVerifier({ upstream: vault.url }), allowedOrigins: ["vault.example.com"] }), {
    message: /auth\.allowedOrigins\[0\]/,
  });
});

test("on a TLS listener only https://<Host> is our origin; http://<Host> is another origin", (t) => {
  const check = createOriginCheck();
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  const host = "vault.example.com:8200";
  t.false(check.isCrossSite(req({ host, origin: "https://vault.example.com:8200" }), true));
  t.true(check.isCrossSite(req({ host, origin: "http://vault.example.com:8200" }), true));
  t.true(check.isCrossSite(req({ origin: "https://vault.example.com:8200" }), true)); // no Host: nothing to match
  t.false(check.isCrossSite(req({ host }), true)); // no Origin nor Referer: not a browser's cross-site request
});
