import test from "ava";
import { call, startStore, tokenWithPolicy } from "./client.js";

test("a user created by root logs in and gets a token with the user's policies", async (t) => {
  const store = await startStore(t);
  const root = store.rootToken;
  const created = await call(store, "POST", "auth/userpass/users/alice", {
    token: root,
    body: { password: "correct horse", policies: ["app"], token_ttl: "30m" },
  });
  t.is(created.status, 204);

  const login = await call(store, "POST", "auth/userpass/login/alice", { body: { password: "correct horse" } });
  t.is(login.status, 200);
  t.is(login.body.data, null);
  const { auth } = login.body;
  t.regex(auth.client_token, /^hvs\./);
  t.like(auth, { lease_duration: 1800, renewable: true, orphan: true, token_type: "service" });
  t.deepEqual(auth.policies, ["app", "default"]);
  t.deepEqual(auth.metadata, { username: "alice" });

  const lookup = await call(store, "GET", "auth/token/lookup-self", { token: auth.client_token });
  t.like(lookup.body.data, { path: "auth/userpass/login/alice", display_name: "userpass-alice" });
});

test("a wrong password and an unknown user get the same 400", async (t) => {
  const store = await startStore(t);
  await call(store, "POST", "auth/userpass/users/bob", { token: store.rootToken, body: { password: "s3cret" } });
  for (const [user, password] of [
    ["bob", "wrong"],
    ["nobody", "s3cret"],
  ]) {
    const login = await call(store, "POST", `auth/userpass/login/${user}`, { body: { password } });
    t.is(login.status, 400);
    t.deepEqual(login.body, { errors: ["invalid username or password"] });
  }
});

test("user names are case-insensitive, and a password change takes effect", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  await call(store, "POST", "auth/userpass/users/Carol", { token, body: { password: "one" } });
  t.is((await call(store, "POST", "auth/userpass/login/carol", { body: { password: "one" } })).status, 200);
  await call(store, "POST", "auth/userpass/users/carol", { token, body: { password: "two" } });
  t.is((await call(store, "POST", "auth/userpass/login/CAROL", { body: { password: "one" } })).status, 400);
  t.is((await call(store, "POST", "auth/userpass/login/CAROL", { body: { password: "two" } })).status, 200);
});

test("reading a user shows its policies and never its password", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  await call(store, "POST", "auth/userpass/users/dave", { token, body: { password: "pw", policies: "a, b" } });
  const read = await call(store, "GET", "auth/userpass/users/dave", { token });
  t.is(read.status, 200);
  t.deepEqual(read.body.data.token_policies, ["a", "b"]);
  t.false(JSON.stringify(read.body).includes('pw"'));
  t.is((await call(store, "DELETE", "auth/userpass/users/dave", { token })).status, 204);
  t.is((await call(store, "POST", "auth/userpass/login/dave", { body: { password: "pw" } })).status, 400);
});

test("creating a user needs root or a create capability on its path", async (t) => {
  const store = await startStore(t);
  const plain = await tokenWithPolicy(store, "nothing", {});
  const refused = await call(store, "POST", "auth/userpass/users/eve", { token: plain, body: { password: "x" } });
  t.is(refused.status, 403);
  t.is((await call(store, "POST", "auth/userpass/users/eve", { body: { password: "x" } })).status, 403);

  const admin = await tokenWithPolicy(store, "user-admin", { "auth/userpass/users/*": ["create", "update"] });
  t.is((await call(store, "POST", "auth/userpass/users/eve", { token: admin, body: { password: "x" } })).status, 204);
  t.is((await call(store, "POST", "auth/userpass/login/eve", { body: { password: "x" } })).status, 200);
});

test("creating a user without a password is refused with 400", async (t) => {
  const store = await startStore(t);
  const answer = await call(store, "POST", "auth/userpass/users/frank", { token: store.rootToken, body: {} });
  t.is(answer.status, 400);
});
