import test, { type ExecutionContext } from "ava";
import { auth } from "../../../src/plugins/auth/index.js";
import { backendVerifier } from "../../../src/plugins/auth/verifiers/backend.js";
import { type HelpOptions, help } from "../../../src/plugins/help/index.js";
import { CAPABILITIES, finalStage, LOOKUP, type Reply, startFakeVault, startPipeline } from "../auth/harness.js";

const TOKEN = "s.erin-token";
const notFound = { errors: ["not found"] };

async function setup(t: ExecutionContext, options: Partial<HelpOptions> = {}) {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  vault.tokens.set(TOKEN, {
    capabilities: { "secret/foo": ["read", "list"], "secret/locked": ["deny"], "sys/seal": [] },
  });
  const authStage = auth({ verifier: backendVerifier({ upstream: vault.url }) });
  const helpStage = help({ upstream: vault.url, allowList: authStage.allowList, ...options });
  const final = finalStage();
  const gateway = await startPipeline([authStage, helpStage, final.plugin]);
  t.teardown(() => gateway.close());
  // null: no token at all
  const ask = (path: string, token: string | null = TOKEN): Promise<Reply> =>
    gateway.request(path, token === null ? {} : { headers: { "x-nomad-token": token } });
  return { vault, final, gateway, ask, helpStage };
}

test("?help=1 on a path the token may access answers 200 with the help text, and is not forwarded", async (t) => {
  const { ask, final, vault } = await setup(t);
  const reply = await ask("/v1/secret/foo?help=1");
  t.is(reply.status, 200);
  t.is(reply.headers["content-type"], "application/json");
  t.regex(JSON.parse(reply.body).help, /Key\/value secrets/);
  t.is(final.forwarded(), 0);
  t.deepEqual(vault.capabilityQueries, [{ paths: ["secret/foo"] }]);
});

test("any non-empty help value is a help request, as Vault reads it; an empty one and other parameters go on", async (t) => {
  const { ask, final } = await setup(t);
  for (const value of ["true", "0", "yes"]) t.is((await ask(`/v1/secret/foo?help=${value}`)).status, 200, value);
  t.is(final.forwarded(), 0);
  t.is((await ask("/v1/secret/foo?help=")).status, 200);
  t.is((await ask("/v1/secret/foo?version=2")).status, 200);
  t.is(final.forwarded(), 2);
});

test("no access (a lone deny, or no capabilities) and an unknown path get the same 404", async (t) => {
  const { ask, final } = await setup(t);
  const denied = await ask("/v1/secret/locked?help=1");
  const empty = await ask("/v1/sys/seal?help=1");
  const unlisted = await ask("/v1/secret/other?help=1"); // the fake backend answers ["deny"] for paths it does not know
  const unknown = await ask("/v1/sys/mounts?help=1");
  for (const reply of [denied, empty, unlisted, unknown]) {
    t.is(reply.status, 404);
    t.deepEqual(JSON.parse(reply.body), notFound);
  }
  t.is(final.forwarded(), 0);
});

test("help for an unknown path does not ask the backend", async (t) => {
  const { ask, vault } = await setup(t);
  await ask("/v1/sys/mounts?help=1");
  t.is(vault.count(CAPABILITIES), 0);
});

test("help runs after auth: without a token it is a 401, with a bad one a 401, never a help text", async (t) => {
  const { ask, final } = await setup(t);
  t.is((await ask("/v1/secret/foo?help=1", null)).status, 401);
  t.is((await ask("/v1/secret/foo?help=1", "s.bogus")).status, 401);
  t.is(final.forwarded(), 0);
});

test("on allow-listed paths help is answered without a token and without a capability check", async (t) => {
  const { ask, vault } = await setup(t);
  const reply = await ask("/v1/auth/userpass/login/alice?help=1", null);
  t.is(reply.status, 200);
  t.regex(JSON.parse(reply.body).help, /Logs in/);
  t.is((await ask("/v1/sys/health?help=1", null)).status, 200);
  t.is(vault.count(CAPABILITIES), 0);
  t.is(vault.count(LOOKUP), 0);
});

test("capability answers are reused briefly per token and path", async (t) => {
  const { ask, vault } = await setup(t);
  await ask("/v1/secret/foo?help=1");
  await ask("/v1/secret/foo?help=1");
  await ask("/v1/secret/locked?help=1");
  t.is(vault.count(CAPABILITIES), 2);
});

test("concurrent help requests for one path share one capability check", async (t) => {
  const { ask, vault } = await setup(t);
  await ask("/v1/secret/foo"); // caches the token lookup, so only capability calls are counted below
  const replies = await Promise.all(Array.from({ length: 50 }, () => ask("/v1/secret/foo?help=1")));
  t.true(replies.every((r) => r.status === 200));
  t.is(vault.count(CAPABILITIES), 1);
});

test("a backend that cannot answer the capability check gives 503, not 404", async (t) => {
  const { ask, vault } = await setup(t);
  await ask("/v1/secret/foo"); // the token is verified and cached
  vault.mode = "sealed";
  const reply = await ask("/v1/secret/foo?help=1");
  t.is(reply.status, 503);
  t.false(reply.body.includes(TOKEN));
});

test("texts added by configuration and by plugins are served", async (t) => {
  const { ask, vault, helpStage } = await setup(t, { entries: { "secret/foo": "Configured text." } });
  helpStage.registry.add("secret/**", "A plugin's text, less specific than the configured one.");
  t.is(JSON.parse((await ask("/v1/secret/foo?help=1")).body).help, "Configured text.");
  vault.tokens.set("s.frank", { capabilities: { "secret/a/b": ["read"] } });
  const reply = await ask("/v1/secret/a/b?help=1", "s.frank");
  t.is(JSON.parse(reply.body).help, "A plugin's text, less specific than the configured one.");
});
