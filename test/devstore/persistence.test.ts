import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { startDevStore } from "../../src/devstore/index.js";
import { call, startStore, tempDir } from "./client.js";

test("everything acknowledged survives a close and a restart on the same file", async (t) => {
  const file = join(await tempDir(t), "state.json");
  const first = await startStore(t, { persistPath: file });
  const root = first.rootToken;
  t.is((await call(first, "POST", "secret/app/db", { token: root, body: { password: "s3cret-value" } })).status, 204);
  t.is((await call(first, "POST", "secret/gone", { token: root, body: { v: 1 } })).status, 204);
  t.is((await call(first, "DELETE", "secret/gone", { token: root })).status, 204);
  const policy = JSON.stringify({ path: { "secret/app/*": { capabilities: ["read"] } } });
  t.is((await call(first, "PUT", "sys/policy/app", { token: root, body: { policy } })).status, 204);
  await call(first, "POST", "auth/userpass/users/alice", {
    token: root,
    body: { password: "pw-alice", policies: ["app"] },
  });
  const child = (await call(first, "POST", "auth/token/create", { token: root, body: { policies: ["app"] } })).body.auth
    .client_token;
  await first.close();

  const second = await startStore(t, { persistPath: file });
  t.deepEqual((await call(second, "GET", "secret/app/db", { token: child })).body.data, { password: "s3cret-value" });
  t.is((await call(second, "GET", "secret/gone", { token: second.rootToken })).status, 404);
  t.is((await call(second, "GET", "secret/other", { token: child })).status, 403);
  t.is((await call(second, "GET", "auth/token/lookup-self", { token: root })).status, 200);
  const login = await call(second, "POST", "auth/userpass/login/alice", { body: { password: "pw-alice" } });
  t.is(login.status, 200);
  t.deepEqual(login.body.auth.policies, ["app", "default"]);
});

test("the state file is mode 0600 and holds no token and no password in the clear", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "state.json");
  const store = await startStore(t, { persistPath: file, rootToken: "root-token-in-the-clear" });
  await call(store, "POST", "auth/userpass/users/bob", { token: store.rootToken, body: { password: "bobs-password" } });
  const child = (await call(store, "POST", "auth/token/create", { token: store.rootToken, body: {} })).body.auth
    .client_token;
  t.is((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, "utf8");
  for (const secret of ["root-token-in-the-clear", child, "bobs-password"]) t.false(text.includes(secret));
  t.deepEqual(await readdir(dir), ["state.json"]); // no temporary file left behind
});

test("concurrent writes are all acknowledged and all on disk after a restart", async (t) => {
  const file = join(await tempDir(t), "state.json");
  const first = await startStore(t, { persistPath: file });
  const token = first.rootToken;
  const writes = Array.from({ length: 40 }, (_, i) => call(first, "POST", `secret/n/${i}`, { token, body: { i } }));
  t.true((await Promise.all(writes)).every((answer) => answer.status === 204));
  // not closed first: what was acknowledged must already be in the file
  const second = await startStore(t, { persistPath: file, rootToken: "second" });
  const listed = await call(second, "GET", "secret/n/?list=true", { token: "second" });
  t.is(listed.body.data.keys.length, 40);
});

test("a file that does not hold a devstore state stops the start", async (t) => {
  const file = join(await tempDir(t), "state.json");
  await writeFile(file, '{"something": "else"}');
  await t.throwsAsync(() => startDevStore({ persistPath: file }), { message: /does not hold a devstore state/ });
});
