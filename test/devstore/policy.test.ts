import test from "ava";
import { call, startStore, tokenWithPolicy } from "./client.js";

test("a token limited to read and list on secret/app/* can read and list there and nothing else", async (t) => {
  const store = await startStore(t);
  const root = store.rootToken;
  await call(store, "POST", "secret/app/db", { token: root, body: { password: "x" } });
  await call(store, "POST", "secret/other", { token: root, body: { password: "y" } });
  const reader = await tokenWithPolicy(store, "app-reader", { "secret/app/*": ["read", "list"] });

  t.is((await call(store, "GET", "secret/app/db", { token: reader })).status, 200);
  t.deepEqual((await call(store, "GET", "secret/app/?list=true", { token: reader })).body.data.keys, ["db"]);
  for (const [method, path, body] of [
    ["GET", "secret/other", undefined],
    ["POST", "secret/app/db", { password: "z" }],
    ["POST", "secret/app/new", { password: "z" }],
    ["DELETE", "secret/app/db", undefined],
    ["GET", "secret/?list=true", undefined],
    ["GET", "sys/policy/app-reader", undefined],
  ] as const) {
    const answer = await call(store, method, path, { token: reader, ...(body === undefined ? {} : { body }) });
    t.is(answer.status, 403, `${method} ${path}`);
    t.deepEqual(answer.body, { errors: ["permission denied"] });
  }
  // the refused write changed nothing
  t.deepEqual((await call(store, "GET", "secret/app/db", { token: root })).body.data, { password: "x" });
});

test("create is needed for a new secret and update for an existing one", async (t) => {
  const store = await startStore(t);
  await call(store, "POST", "secret/exists", { token: store.rootToken, body: { v: 1 } });
  const creator = await tokenWithPolicy(store, "creator", { "secret/*": ["create"] });
  t.is((await call(store, "POST", "secret/fresh", { token: creator, body: { v: 1 } })).status, 204);
  t.is((await call(store, "POST", "secret/exists", { token: creator, body: { v: 2 } })).status, 403);
  const updater = await tokenWithPolicy(store, "updater", { "secret/*": ["update"] });
  t.is((await call(store, "POST", "secret/exists", { token: updater, body: { v: 3 } })).status, 204);
  t.is((await call(store, "POST", "secret/fresh2", { token: updater, body: { v: 1 } })).status, 403);
});

test("capabilities-self answers in Vault's shape and agrees with what is enforced", async (t) => {
  const store = await startStore(t);
  const token = await tokenWithPolicy(store, "mixed", {
    "secret/app/*": ["read", "list"],
    "secret/app/admin": ["deny"],
    "secret/exact": ["create", "update", "read"],
  });
  const one = await call(store, "POST", "sys/capabilities-self", { token, body: { path: "secret/app/x" } });
  t.is(one.status, 200);
  t.deepEqual(one.body.capabilities, ["list", "read"]);
  t.deepEqual(one.body["secret/app/x"], ["list", "read"]);
  t.deepEqual(one.body.data, { capabilities: ["list", "read"], "secret/app/x": ["list", "read"] });

  const many = await call(store, "POST", "sys/capabilities-self", {
    token,
    body: { paths: ["secret/app/x", "secret/app/admin", "secret/exact", "secret/exact/below", "secret/other"] },
  });
  t.is(many.status, 200);
  t.deepEqual(many.body.data, {
    "secret/app/x": ["list", "read"],
    "secret/app/admin": ["deny"],
    "secret/exact": ["create", "read", "update"],
    "secret/exact/below": ["deny"],
    "secret/other": ["deny"],
  });
  t.is(many.body.capabilities, undefined); // only a single-path question gets the legacy field

  // what it said is what happens
  await call(store, "POST", "secret/app/admin", { token: store.rootToken, body: { v: 1 } });
  t.is((await call(store, "GET", "secret/app/admin", { token })).status, 403);
  t.is((await call(store, "POST", "secret/exact", { token, body: { v: 1 } })).status, 204);
  t.is((await call(store, "GET", "secret/exact", { token })).status, 200);
  t.is((await call(store, "DELETE", "secret/exact", { token })).status, 403);
});

test("the root token's capabilities are root, and a token's own endpoints are granted by default", async (t) => {
  const store = await startStore(t);
  const root = await call(store, "POST", "sys/capabilities-self", {
    token: store.rootToken,
    body: { paths: ["secret/anything"] },
  });
  t.deepEqual(root.body.capabilities, ["root"]);
  const plain = (await call(store, "POST", "auth/token/create", { token: store.rootToken, body: { policies: [] } }))
    .body.auth.client_token;
  const own = await call(store, "POST", "sys/capabilities-self", {
    token: plain,
    body: { paths: ["auth/token/lookup-self", "auth/token/revoke-self", "secret/x", "sys/policy/default"] },
  });
  t.deepEqual(own.body.data, {
    "auth/token/lookup-self": ["read"],
    "auth/token/revoke-self": ["update"],
    "secret/x": ["deny"],
    "sys/policy/default": ["deny"],
  });
});

test("policies merge across a token's policy list, and deny wins", async (t) => {
  const store = await startStore(t);
  const root = store.rootToken;
  for (const [name, paths] of [
    ["a", { "secret/shared/*": { capabilities: ["read"] } }],
    ["b", { "secret/shared/*": { capabilities: ["list"] }, "secret/shared/locked": { capabilities: ["deny"] } }],
    ["c", { "secret/shared/locked": { capabilities: ["read"] } }],
  ] as const) {
    await call(store, "PUT", `sys/policy/${name}`, { token: root, body: { policy: JSON.stringify({ path: paths }) } });
  }
  const token = (await call(store, "POST", "auth/token/create", { token: root, body: { policies: ["a", "b", "c"] } }))
    .body.auth.client_token;
  const answer = await call(store, "POST", "sys/capabilities-self", {
    token,
    body: { paths: ["secret/shared/x", "secret/shared/locked"] },
  });
  t.deepEqual(answer.body.data, { "secret/shared/x": ["list", "read"], "secret/shared/locked": ["deny"] });
});

test("policies can be written, read back, listed and deleted; deleting one takes its access away", async (t) => {
  const store = await startStore(t);
  const root = store.rootToken;
  const text = JSON.stringify({ path: { "secret/*": { capabilities: ["read"] } } });
  t.is((await call(store, "PUT", "sys/policy/Reader", { token: root, body: { policy: text } })).status, 204);
  const read = await call(store, "GET", "sys/policy/reader", { token: root });
  t.is(read.status, 200);
  t.like(read.body, { name: "reader", rules: text, data: { name: "reader", rules: text } });
  const listed = await call(store, "GET", "sys/policy", { token: root });
  t.deepEqual(listed.body.policies, ["root", "default", "reader"]);

  await call(store, "POST", "secret/s", { token: root, body: { v: 1 } });
  const token = (await call(store, "POST", "auth/token/create", { token: root, body: { policies: ["reader"] } })).body
    .auth.client_token;
  t.is((await call(store, "GET", "secret/s", { token })).status, 200);
  t.is((await call(store, "DELETE", "sys/policy/reader", { token: root })).status, 204);
  t.is((await call(store, "GET", "secret/s", { token })).status, 403);
  t.is((await call(store, "GET", "sys/policy/reader", { token: root })).status, 404);
});

test("a policy that is not JSON, or names an unknown capability, is refused with 400", async (t) => {
  const store = await startStore(t);
  for (const policy of [
    'path "secret/*" { capabilities = ["read"] }',
    JSON.stringify({ path: { "secret/*": { capabilities: ["fly"] } } }),
    JSON.stringify({ path: { "secret/*/x": { capabilities: ["read"] } } }),
  ]) {
    const answer = await call(store, "PUT", "sys/policy/bad", { token: store.rootToken, body: { policy } });
    t.is(answer.status, 400);
    t.regex(answer.body.errors[0], /^failed to parse policy: /);
  }
});

test("the root policy cannot be changed, and neither root nor default can be deleted", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  t.is((await call(store, "PUT", "sys/policy/root", { token, body: { policy: "{}" } })).status, 400);
  t.is((await call(store, "DELETE", "sys/policy/root", { token })).status, 400);
  t.is((await call(store, "DELETE", "sys/policy/default", { token })).status, 400);
});
