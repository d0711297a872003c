import { once } from "node:events";
import { request } from "node:http";
import { connect } from "node:net";
import test from "ava";
import { call, startStore } from "./client.js";

test("a body that is not JSON is 400 failed to parse JSON input, without echoing it", async (t) => {
  const store = await startStore(t);
  const answer = await call(store, "POST", "secret/x", { token: store.rootToken, body: '{"value": "hunter2' });
  t.is(answer.status, 400);
  t.regex(answer.body.errors[0], /^failed to parse JSON input: /);
  t.false(JSON.stringify(answer.body).includes("hunter2"));
  const array = await call(store, "POST", "secret/x", { token: store.rootToken, body: "[1, 2]" });
  t.is(array.status, 400);
});

test("a body over 1 MiB is refused with 413 and nothing is stored", async (t) => {
  const store = await startStore(t);
  const big = JSON.stringify({ value: "x".repeat(1024 * 1024) });
  const answer = await call(store, "POST", "secret/big", { token: store.rootToken, body: big });
  t.is(answer.status, 413);
  t.deepEqual(answer.body, { errors: ["http: request body too large"] });
  t.is((await call(store, "GET", "secret/big", { token: store.rootToken })).status, 404);
});

test("a chunked body that grows past 1 MiB is refused with 413 too", async (t) => {
  const store = await startStore(t);
  const req = request(`${store.url}/v1/secret/big`, {
    method: "POST",
    headers: { "x-vault-token": store.rootToken, "transfer-encoding": "chunked" },
  });
  for (let i = 0; i < 20; i++) req.write("y".repeat(64 * 1024));
  req.end();
  const [res] = (await once(req, "response")) as [import("node:http").IncomingMessage];
  res.resume();
  t.is(res.statusCode, 413);
});

test("an unknown path is 404 with Vault's no-handler message", async (t) => {
  const store = await startStore(t);
  const answer = await call(store, "GET", "nothing/here", { token: store.rootToken });
  t.is(answer.status, 404);
  t.deepEqual(answer.body, { errors: ['no handler for route "nothing/here". route entry not found.'] });
  t.is((await call(store, "GET", "nothing/here")).status, 403); // no token: nothing is revealed
});

test("a method a path does not support is 405 unsupported operation", async (t) => {
  const store = await startStore(t);
  for (const [method, path] of [
    ["DELETE", "sys/health"],
    ["PATCH", "secret/x"],
    ["GET", "auth/token/create"],
    ["GET", "sys/capabilities-self"],
  ] as const) {
    const answer = await call(store, method, path, { token: store.rootToken });
    t.is(answer.status, 405, `${method} ${path}`);
    t.deepEqual(answer.body, { errors: ["unsupported operation"] });
  }
});

test("the LIST verb, which Node cannot parse, gets a JSON 400 pointing at ?list=true", async (t) => {
  const store = await startStore(t);
  const socket = connect(store.port, "127.0.0.1");
  t.teardown(() => socket.destroy());
  await once(socket, "connect");
  socket.end(`LIST /v1/secret/ HTTP/1.1\r\nhost: 127.0.0.1\r\nx-vault-token: ${store.rootToken}\r\n\r\n`);
  let text = "";
  for await (const chunk of socket) text += chunk;
  t.regex(text, /^HTTP\/1\.1 400 /);
  t.regex(text, /\?list=true/);
});

test("the Authorization Bearer header is accepted like X-Vault-Token", async (t) => {
  const store = await startStore(t);
  const res = await fetch(`${store.url}/v1/auth/token/lookup-self`, {
    headers: { authorization: `Bearer ${store.rootToken}` },
  });
  t.is(res.status, 200);
});

test("dot segments are resolved before routing and before the access check", async (t) => {
  const store = await startStore(t);
  const res = await fetch(`${store.url}/v1/secret/../sys/seal`, { method: "PUT" });
  t.is(res.status, 403);
  t.like(await (await fetch(`${store.url}/v1/sys/seal-status`)).json(), { sealed: false });
});

test("the store refuses to listen on a non-loopback address", async (t) => {
  const { startDevStore } = await import("../../src/devstore/index.js");
  await t.throwsAsync(() => startDevStore({ host: "0.0.0.0" }), { message: /not a loopback address/ });
});
