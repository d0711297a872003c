import test, { type ExecutionContext } from "ava";
import { startDevStore } from "../../../src/devstore/index.js";
import type { RequestContext } from "../../../src/pipeline/context.js";
import { auth } from "../../../src/plugins/auth/index.js";
import { backendVerifier } from "../../../src/plugins/auth/verifiers/backend.js";
import { help } from "../../../src/plugins/help/index.js";
import { type CannedResponse, finalStage, send, startPipeline } from "./harness.js";

async function readBody(ctx: RequestContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** auth + help in front of the real development store, with a minimal forwarder standing in for the proxy. */
async function setup(t: ExecutionContext) {
  const store = await startDevStore();
  t.teardown(() => store.close());
  const upstream = new URL(store.url);
  const authStage = auth({ verifier: backendVerifier({ upstream }) });
  const forward = finalStage(async (ctx): Promise<CannedResponse> => {
    const body = await readBody(ctx);
    const reply = await send(`${store.url}${ctx.path}${ctx.query === "" ? "" : `?${ctx.query}`}`, {
      method: ctx.req.method ?? "GET",
      headers: ctx.token === undefined ? {} : { "x-vault-token": ctx.token },
      ...(body === "" ? {} : { body }),
    });
    const headers = { "content-type": String(reply.headers["content-type"] ?? "application/json") };
    return { status: reply.status, headers, ...(reply.body === "" ? {} : { body: Buffer.from(reply.body) }) };
  });
  const gateway = await startPipeline([authStage, help({ upstream, allowList: authStage.allowList }), forward.plugin]);
  t.teardown(() => gateway.close());
  const root = { "x-nomad-token": store.rootToken };
  // alice may read secret/app/* and nothing else of the KV
  const policy = { path: { "secret/app/*": { capabilities: ["read", "list"] } } };
  await gateway.request("/v1/sys/policy/app-reader", {
    method: "POST",
    headers: root,
    body: JSON.stringify({ policy: JSON.stringify(policy) }),
  });
  await gateway.request("/v1/auth/userpass/users/alice", {
    method: "POST",
    headers: root,
    body: JSON.stringify({ password: "correct horse", policies: ["app-reader"], ttl: "1h" }),
  });
  await gateway.request("/v1/secret/app/db", { method: "POST", headers: root, body: '{"value":"bar"}' });
  return { store, gateway, forward };
}

test("with the development store: a userpass login sets the cookie, and the cookie alone then reads a secret", async (t) => {
  const { gateway } = await setup(t);
  const login = await gateway.request("/v1/auth/userpass/login/alice", {
    method: "POST",
    body: JSON.stringify({ password: "correct horse" }),
  });
  t.is(login.status, 200);
  const token = JSON.parse(login.body).auth.client_token as string;
  const setCookie = login.headers["set-cookie"]?.[0] ?? "";
  t.regex(setCookie, /^token=[^;]+; HttpOnly; Secure; SameSite=Strict; Path=\/v1\/; Max-Age=3600$/);
  t.true(setCookie.startsWith(`token=${token};`));

  const cookie = { cookie: `token=${token}` };
  const read = await gateway.request("/v1/secret/app/db", { headers: cookie });
  t.is(read.status, 200);
  t.deepEqual(JSON.parse(read.body).data, { value: "bar" });

  const revoke = await gateway.request("/v1/auth/token/revoke-self", { method: "POST", headers: cookie });
  t.is(revoke.status, 204);
  t.regex(String(revoke.headers["set-cookie"]), /^token=; Max-Age=0/);
  t.is((await gateway.request("/v1/secret/app/db", { headers: cookie })).status, 401);
});

test("with the development store: help follows the token's policies", async (t) => {
  const { gateway, forward } = await setup(t);
  const login = await gateway.request("/v1/auth/userpass/login/alice", {
    method: "POST",
    body: JSON.stringify({ password: "correct horse" }),
  });
  const headers = { "x-nomad-token": JSON.parse(login.body).auth.client_token as string };
  const before = forward.forwarded();
  const allowed = await gateway.request("/v1/secret/app/db?help=1", { headers });
  t.is(allowed.status, 200);
  t.regex(JSON.parse(allowed.body).help, /Key\/value secrets/);
  t.is((await gateway.request("/v1/secret/other?help=1", { headers })).status, 404);
  t.is((await gateway.request("/v1/sys/policy/app-reader?help=1", { headers })).status, 404);
  t.is(forward.forwarded(), before);
});

test("with the development store: a sealed store makes token checks a 503, not a 401", async (t) => {
  const { gateway, store } = await setup(t);
  store.seal();
  const reply = await gateway.request("/v1/secret/app/db", { headers: { "x-nomad-token": "s.not-seen-before" } });
  t.is(reply.status, 503);
});
