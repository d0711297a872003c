import test from "ava";
import { call, startStore } from "./client.js";

test("a written secret reads back in Vault's KV v1 response shape", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  const written = await call(store, "POST", "secret/foo", {
    token,
    body: { value: "bar", n: 3, nested: { ok: true } },
  });
  t.is(written.status, 204);
  t.is(written.body, undefined);

  const read = await call(store, "GET", "secret/foo", { token });
  t.is(read.status, 200);
  t.is(read.headers.get("content-type"), "application/json");
  t.deepEqual(Object.keys(read.body).sort(), [
    "auth",
    "data",
    "lease_duration",
    "lease_id",
    "renewable",
    "request_id",
    "warnings",
    "wrap_info",
  ]);
  t.like(read.body, { lease_id: "", renewable: false, lease_duration: 2764800, wrap_info: null, warnings: null });
  t.is(read.body.auth, null);
  t.regex(read.body.request_id, /^[0-9a-f-]{36}$/);
  t.deepEqual(read.body.data, { value: "bar", n: 3, nested: { ok: true } });
});

test("PUT writes like POST, and a second write replaces the whole secret", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  t.is((await call(store, "PUT", "secret/app/db", { token, body: { user: "a", password: "x" } })).status, 204);
  t.is((await call(store, "POST", "secret/app/db", { token, body: { user: "b" } })).status, 204);
  t.deepEqual((await call(store, "GET", "secret/app/db", { token })).body.data, { user: "b" });
});

test("a missing secret is 404 with an empty errors list, exactly like Vault", async (t) => {
  const store = await startStore(t);
  const read = await call(store, "GET", "secret/does/not/exist", { token: store.rootToken });
  t.is(read.status, 404);
  t.deepEqual(read.body, { errors: [] });
});

test("a deleted secret is gone, and deleting again still answers 204", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  await call(store, "POST", "secret/gone", { token, body: { value: 1 } });
  t.is((await call(store, "DELETE", "secret/gone", { token })).status, 204);
  t.is((await call(store, "GET", "secret/gone", { token })).status, 404);
  t.is((await call(store, "DELETE", "secret/gone", { token })).status, 204);
});

test("listing shows a folder's keys and its sub-folders with a trailing slash, at every depth", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  for (const path of ["top", "app/a", "app/b", "app/db/primary", "app/db/replica", "app/db/deep/x", "other/z"]) {
    t.is((await call(store, "POST", `secret/${path}`, { token, body: { v: path } })).status, 204);
  }
  const root = await call(store, "GET", "secret/?list=true", { token });
  t.is(root.status, 200);
  t.deepEqual(root.body.data, { keys: ["app/", "other/", "top"] });
  t.deepEqual((await call(store, "GET", "secret/app/?list=true", { token })).body.data.keys, ["a", "b", "db/"]);
  // without the trailing slash and with list=1 (what node-vault sends) the answer is the same
  t.deepEqual((await call(store, "GET", "secret/app/db?list=1", { token })).body.data.keys, [
    "deep/",
    "primary",
    "replica",
  ]);
});

test("listing an empty or unknown folder is 404 with an empty errors list", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  t.deepEqual(await call(store, "GET", "secret/?list=true", { token }).then((a) => [a.status, a.body]), [
    404,
    { errors: [] },
  ]);
  await call(store, "POST", "secret/a/b", { token, body: { v: 1 } });
  await call(store, "DELETE", "secret/a/b", { token });
  t.is((await call(store, "GET", "secret/a/?list=true", { token })).status, 404);
});

test("a write without data fields is refused with 400", async (t) => {
  const store = await startStore(t);
  const written = await call(store, "POST", "secret/empty", { token: store.rootToken, body: {} });
  t.is(written.status, 400);
  t.deepEqual(written.body, { errors: ["missing data fields"] });
});

test("KV without a token, or with an unknown one, is 403 permission denied", async (t) => {
  const store = await startStore(t);
  for (const token of [undefined, "hvs.not-a-real-token"]) {
    const read = await call(store, "GET", "secret/foo", token === undefined ? {} : { token });
    t.is(read.status, 403);
    t.deepEqual(read.body, { errors: ["permission denied"] });
  }
});

test("a secret key named __proto__ is stored as data, not as a prototype", async (t) => {
  const store = await startStore(t);
  const token = store.rootToken;
  const text = '{"__proto__":{"polluted":1},"a":1}';
  t.is((await call(store, "POST", "secret/odd", { token, body: text })).status, 204);
  t.deepEqual((await call(store, "GET", "secret/odd", { token })).body.data, JSON.parse(text));
  t.is(({} as Record<string, unknown>).polluted, undefined);
});
