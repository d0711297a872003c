import test from "ava";
import { call, startStore } from "./client.js";

test("health is 200 and reports an unsealed, initialized server", async (t) => {
  const store = await startStore(t);
  const health = await call(store, "GET", "sys/health");
  t.is(health.status, 200);
  t.like(health.body, { initialized: true, sealed: false, standby: false, performance_standby: false });
  t.is(typeof health.body.version, "string");
  t.regex(health.body.cluster_name, /^vault-cluster-/);
});

test("after sys/seal every path but health, seal-status and unseal answers 503 Vault is sealed", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  await call(store, "POST", "secret/kept", { token, body: { v: 1 } });
  t.is((await call(store, "PUT", "sys/seal", { token })).status, 204);

  for (const [method, path] of [
    ["GET", "secret/kept"],
    ["POST", "secret/kept"],
    ["GET", "auth/token/lookup-self"],
    ["POST", "auth/userpass/login/x"],
    ["PUT", "sys/seal"],
    ["GET", "no/such/route"],
  ] as const) {
    const answer = await call(store, method, path, { token, ...(method === "GET" ? {} : { body: { v: 2 } }) });
    t.is(answer.status, 503, `${method} ${path}`);
    t.deepEqual(answer.body, { errors: ["Vault is sealed"] });
  }
  const health = await call(store, "GET", "sys/health");
  t.is(health.status, 503);
  t.like(health.body, { initialized: true, sealed: true });
  t.is(health.body.cluster_name, undefined);
  const status = await call(store, "GET", "sys/seal-status");
  t.is(status.status, 200);
  t.like(status.body, { type: "shamir", initialized: true, sealed: true, t: 1, n: 1, progress: 0 });
});

test("unsealing with the key opens the store again; a wrong or malformed key is 400", async (t) => {
  const store = await startStore(t, { sealed: true });
  const token = store.rootToken;
  t.is((await call(store, "GET", "secret/x", { token })).status, 503);

  const wrong = await call(store, "PUT", "sys/unseal", { body: { key: Buffer.alloc(32, 7).toString("base64") } });
  t.is(wrong.status, 400);
  t.deepEqual(wrong.body, { errors: ["Unseal failed, invalid key"] });
  t.is((await call(store, "PUT", "sys/unseal", { body: { key: "not a key!" } })).status, 400);
  t.is((await call(store, "PUT", "sys/unseal", { body: {} })).status, 400);
  const reset = await call(store, "PUT", "sys/unseal", { body: { reset: true } });
  t.like(reset.body, { sealed: true, progress: 0 });

  const unsealed = await call(store, "PUT", "sys/unseal", { body: { key: store.unsealKey } });
  t.is(unsealed.status, 200);
  t.like(unsealed.body, { sealed: false, t: 1, n: 1 });
  t.is((await call(store, "POST", "secret/x", { token, body: { v: 1 } })).status, 204);
  t.is((await call(store, "GET", "sys/health")).status, 200);
});

test("the unseal key is accepted in hex as well as base64", async (t) => {
  const store = await startStore(t, { sealed: true });
  const hex = Buffer.from(store.unsealKey, "base64").toString("hex");
  t.like((await call(store, "POST", "sys/unseal", { body: { key: hex } })).body, { sealed: false });
});

test("seal() from code seals, and sys/seal needs a token with sudo", async (t) => {
  const store = await startStore(t);
  const plain = (await call(store, "POST", "auth/token/create", { token: store.rootToken, body: { policies: [] } }))
    .body.auth.client_token;
  t.is((await call(store, "PUT", "sys/seal", { token: plain })).status, 403);
  t.is((await call(store, "PUT", "sys/seal", {})).status, 403);
  store.seal();
  t.like((await call(store, "GET", "sys/seal-status")).body, { sealed: true });
});

test("health honours sealedcode, as Vault does for load balancer probes", async (t) => {
  const store = await startStore(t, { sealed: true });
  t.is((await call(store, "GET", "sys/health?sealedcode=200")).status, 200);
  const head = await fetch(`${store.url}/v1/sys/health`, { method: "HEAD" });
  t.is(head.status, 503);
});
