import test from "ava";
import nodeVault from "node-vault";
import { startStore } from "./client.js";

test("the node-vault client writes, reads, lists and deletes secrets", async (t) => {
  const store = await startStore(t);
  const vault = nodeVault({ endpoint: store.url, token: store.rootToken, noCustomHTTPVerbs: true });

  t.like(await vault.health(), { initialized: true, sealed: false });
  await vault.write("secret/app/db", { user: "app", password: "s3cret" });
  await vault.write("secret/app/cache/redis", { url: "redis://127.0.0.1:6379" });
  const read = await vault.read("secret/app/db");
  t.deepEqual(read.data, { user: "app", password: "s3cret" });
  t.is(read.lease_duration, 2764800);
  t.deepEqual((await vault.list("secret/app")).data.keys, ["cache/", "db"]);

  await vault.delete("secret/app/db");
  const error = await t.throwsAsync(() => vault.read("secret/app/db"));
  t.is((error as Error & { response?: { statusCode: number } }).response?.statusCode, 404);
  t.deepEqual((await vault.list("secret/app")).data.keys, ["cache/"]);
});

test("node-vault's token and userpass calls work against the store", async (t) => {
  const store = await startStore(t);
  const vault = nodeVault({ endpoint: store.url, token: store.rootToken, noCustomHTTPVerbs: true });
  const self = await vault.tokenLookupSelf();
  t.deepEqual(self.data.policies, ["root"]);
  await vault.write("auth/userpass/users/ada", { password: "lovelace", policies: "default" });
  const created = await vault.tokenCreate({ policies: ["default"], ttl: "15m" });
  t.is(created.auth.lease_duration, 900);
  t.is(vault.token, created.auth.client_token); // node-vault switches to the token it created
  await t.throwsAsync(() => vault.read("secret/anything"), { message: "permission denied" });

  const anonymous = nodeVault({ endpoint: store.url, noCustomHTTPVerbs: true });
  const login = await anonymous.userpassLogin({ username: "ada", password: "lovelace" });
  t.regex(login.auth.client_token, /^hvs\./);
  t.is(anonymous.token, login.auth.client_token); // node-vault keeps the token it got
  const wrong = await t.throwsAsync(() => anonymous.userpassLogin({ username: "ada", password: "nope" }));
  t.is(wrong?.message, "invalid username or password");
});
