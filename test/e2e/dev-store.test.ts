import test from "ava";
import nodeVault from "node-vault";
import { testPki } from "../helpers/tls.js";
import { errorsOf, startStack } from "./harness.js";

const json = { "content-type": "application/json" };

test("the spec's curl examples work: write secret/baz with X-Nomad-Token, read it back", async (t) => {
  const { gw, root } = await startStack(t);
  const write = await gw.request("/v1/secret/baz", {
    method: "POST",
    token: root,
    headers: json,
    body: '{"value":"bar"}',
  });
  t.is(write.status, 204);
  const read = await gw.request("/v1/secret/baz", { token: root });
  t.is(read.status, 200);
  t.deepEqual(JSON.parse(read.body).data, { value: "bar" });
});

test("write, list, delete through the gateway; a missing secret is a 404 with a message", async (t) => {
  const { gw, root } = await startStack(t);
  for (const name of ["a", "b", "dir/c"]) {
    await gw.request(`/v1/secret/${name}`, { method: "PUT", token: root, headers: json, body: '{"v":1}' });
  }
  const list = await gw.request("/v1/secret/?list=true", { token: root });
  t.deepEqual(JSON.parse(list.body).data.keys, ["a", "b", "dir/"]);
  t.is((await gw.request("/v1/secret/a", { method: "DELETE", token: root })).status, 204);
  const gone = await gw.request("/v1/secret/a", { token: root });
  t.is(gone.status, 404);
  t.deepEqual(errorsOf(gone.body), ["not found"]);
});

test("a sealed store answers 503 in the errors shape through the gateway; unsealed, it serves again", async (t) => {
  const { store, gw, root } = await startStack(t);
  await gw.request("/v1/secret/x", { method: "PUT", token: root, headers: json, body: '{"v":1}' });
  t.is((await gw.request("/v1/sys/seal", { method: "PUT", token: root })).status, 204);
  // the gateway checked the root token before the seal; a sealed store answers 503 for everything else
  const sealed = await gw.request("/v1/secret/x", { token: root });
  t.is(sealed.status, 503);
  t.deepEqual(errorsOf(sealed.body), ["Vault is sealed"]);
  const health = await gw.request("/v1/sys/health", { token: null });
  t.is(health.status, 503);
  const unseal = await gw.request("/v1/sys/unseal", {
    method: "PUT",
    token: null,
    headers: json,
    body: JSON.stringify({ key: store.unsealKey }),
  });
  t.is(unseal.status, 200);
  t.is((await gw.request("/v1/secret/x", { token: root })).status, 200);
});

test("an unmodified node-vault client writes, reads, lists and deletes through the gateway", async (t) => {
  const { gw, root } = await startStack(t);
  const vault = nodeVault({
    endpoint: gw.url,
    token: root,
    noCustomHTTPVerbs: true,
    requestOptions: { ca: testPki().ca.cert },
  });
  await vault.write("secret/app/db", { password: "hunter2" });
  t.deepEqual((await vault.read("secret/app/db")).data, { password: "hunter2" });
  t.deepEqual((await vault.list("secret/app")).data.keys, ["db"]);
  await vault.delete("secret/app/db");
  const error = await t.throwsAsync(vault.read("secret/app/db"));
  t.is((error as { response?: { statusCode?: number } }).response?.statusCode, 404);
});

test("userpass login sets the token cookie; the cookie alone then authenticates; revoke-self clears it", async (t) => {
  const { gw, root } = await startStack(t);
  const made = await gw.request("/v1/auth/userpass/users/alice", {
    method: "POST",
    token: root,
    headers: json,
    body: JSON.stringify({ password: "correct horse", policies: ["default", "reader"] }),
  });
  t.is(made.status, 204);
  await gw.request("/v1/sys/policy/reader", {
    method: "PUT",
    token: root,
    headers: json,
    body: JSON.stringify({ policy: JSON.stringify({ path: { "secret/*": { capabilities: ["read", "list"] } } }) }),
  });
  await gw.request("/v1/secret/shared", { method: "PUT", token: root, headers: json, body: '{"v":"s"}' });

  const login = await gw.request("/v1/auth/userpass/login/alice", {
    method: "POST",
    token: null,
    headers: json,
    body: '{"password":"correct horse"}',
  });
  t.is(login.status, 200);
  const token = JSON.parse(login.body).auth.client_token as string;
  const cookie = login.headers["set-cookie"]?.[0] ?? "";
  t.regex(cookie, new RegExp(`^token=${token.replaceAll(".", "\\.")}; `));
  for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/v1/", "Max-Age="])
    t.true(cookie.includes(attribute));

  const byCookie = await gw.request("/v1/secret/shared", { token: null, headers: { cookie: `token=${token}` } });
  t.is(byCookie.status, 200);
  const revoked = await gw.request("/v1/auth/token/revoke-self", {
    method: "POST",
    token: null,
    headers: { cookie: `token=${token}`, origin: `https://127.0.0.1:${gw.port}`, host: `127.0.0.1:${gw.port}` },
  });
  t.is(revoked.status, 204);
  t.regex(revoked.headers["set-cookie"]?.[0] ?? "", /^token=; .*Max-Age=0/);
  const after = await gw.request("/v1/secret/shared", { token: null, headers: { cookie: `token=${token}` } });
  t.is(after.status, 401);
});

test("?help=1 is answered by the gateway for a path the token may use, and 404 where it may not", async (t) => {
  const { gw, root } = await startStack(t);
  const help = await gw.request("/v1/secret/foo?help=1", { token: root });
  t.is(help.status, 200);
  t.is(typeof JSON.parse(help.body).help, "string");
  const limited = await gw.request("/v1/auth/token/create", {
    method: "POST",
    token: root,
    headers: json,
    body: JSON.stringify({ policies: ["default"] }),
  });
  const weak = JSON.parse(limited.body).auth.client_token as string;
  const denied = await gw.request("/v1/secret/foo?help=1", { token: weak });
  t.is(denied.status, 404);
  t.deepEqual(errorsOf(denied.body), ["not found"]);
});

test("no bypass reaches a real secret without a token", async (t) => {
  const { gw, root } = await startStack(t);
  await gw.request("/v1/secret/foo", { method: "PUT", token: root, headers: json, body: '{"value":"top secret"}' });
  const attempts = [
    "/v1/auth/userpass/login/../../secret/foo",
    "/v1/auth/userpass/login/%2e%2e/%2e%2e/secret/foo",
    "/v1/auth/userpass/login/%2E%2E%2F%2E%2E%2Fsecret/foo",
    "/v1/auth/userpass/login%2f..%2f..%2fsecret/foo",
    "/v1/sys/health/../../v1/secret/foo",
    "/v1/auth/userpass/login//../secret/foo",
    "/v1/auth/userpass/login/./../../secret/foo",
    "/V1/secret/foo",
    "/v1/secret/foo%00",
    "/v1/auth/userpass/login;/../../secret/foo",
    "/v1/secret/foo;/auth/userpass/login",
    "/v1/auth/userpass/login\\..\\..\\secret/foo",
    "/v1/secret/foo",
  ];
  for (const path of attempts) {
    const reply = await gw.request(path, { token: null });
    t.true([400, 401, 404].includes(reply.status), `${path} -> ${reply.status}`);
    t.false(reply.body.includes("top secret"), path);
    t.true(Array.isArray(errorsOf(reply.body)), path);
  }
});
