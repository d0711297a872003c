import { connect } from "node:net";
import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";

async function setup(t: import("ava").ExecutionContext) {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  return { backend, gw };
}

test("a /v1 request is forwarded with its path and query, and the backend's answer comes back", async (t) => {
  const { backend, gw } = await setup(t);
  const reply = await gw.request("/v1/secret/foo?list=true");
  t.is(reply.status, 200);
  t.deepEqual(JSON.parse(reply.body).data, { method: "GET", url: "/v1/secret/foo?list=true" });
  t.is(backend.requests.length, 1);
});

test("the client's token reaches the backend only in X-Vault-Token, and the token cookie is stripped", async (t) => {
  const { backend, gw } = await setup(t);
  await gw.request("/v1/secret/foo", { headers: { cookie: `theme=dark; token=${TEST_TOKEN}; lang=en` } });
  const seen = backend.requests[0]?.headers;
  t.is(seen?.["x-vault-token"], TEST_TOKEN);
  t.is(seen?.["x-nomad-token"], undefined);
  t.is(seen?.cookie, "theme=dark; lang=en");
});

test("an Authorization header never reaches the backend, even on paths open without a token", async (t) => {
  const { backend, gw } = await setup(t);
  await gw.request("/v1/sys/health", { token: null, headers: { authorization: "Bearer hvs.unchecked" } });
  await gw.request("/v1/secret/foo", { headers: { authorization: "Bearer hvs.unchecked" } });
  t.is(backend.requests.length, 2);
  for (const seen of backend.requests) t.is(seen.headers.authorization, undefined);
  t.is(backend.requests[0]?.headers["x-vault-token"], undefined);
});

test("a request without a token is refused with 401 and never forwarded", async (t) => {
  const { backend, gw } = await setup(t);
  const reply = await gw.request("/v1/secret/foo", { token: null });
  t.is(reply.status, 401);
  t.deepEqual(JSON.parse(reply.body), { errors: ["missing client token"] });
  t.is(backend.requests.length, 0);
});

test("paths outside /v1/ are answered 404 in the errors shape and never forwarded", async (t) => {
  const { backend, gw } = await setup(t);
  for (const path of ["/", "/not-v1", "/v1", "/V1/secret/foo", "/v2/secret/foo", "/favicon.ico"]) {
    const reply = await gw.request(path);
    t.is(reply.status, 404, path);
    t.is(reply.headers["content-type"], "application/json");
    t.deepEqual(JSON.parse(reply.body), { errors: ["not found"] }, path);
  }
  t.is(backend.requests.length, 0);
});

test("ambiguous paths are refused with 400 and never forwarded", async (t) => {
  const { backend, gw } = await setup(t);
  const paths = [
    "/v1/auth/userpass/login/../../secret/foo",
    "/v1/auth/userpass/login/%2e%2e/%2E%2E/secret/foo",
    "/v1/secret/./foo",
    "/v1//secret/foo",
    "/v1/secret%2ffoo",
    "/v1/secret/foo;jsessionid=1",
    "/v1/secret/foo%00",
    "/v1/secret/foo%5c..",
    "/v1/secret/foo%",
    "/v1/secret/http:/foo",
    "/v1/secret/x-https%3A/foo",
  ];
  for (const path of paths) {
    const reply = await gw.request(path);
    t.is(reply.status, 400, path);
    t.true(Array.isArray(JSON.parse(reply.body).errors), path);
  }
  t.is(backend.requests.length, 0);
});

test("escapes of plain characters are decoded before forwarding, so one resource has one spelling", async (t) => {
  const { backend, gw } = await setup(t);
  await gw.request("/v1/secret/f%6fo%20bar");
  t.is(backend.requests[0]?.url, "/v1/secret/foo%20bar");
});

test("the backend sees the gateway's X-Forwarded-* values, never the client's own", async (t) => {
  const { backend, gw } = await setup(t);
  await gw.request("/v1/secret/foo", {
    headers: {
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-proto": "gopher",
      forwarded: "for=6.6.6.6",
      "x-real-ip": "6.6.6.6",
    },
  });
  const seen = backend.requests[0]?.headers;
  t.is(seen?.["x-forwarded-for"], "127.0.0.1");
  t.is(seen?.["x-forwarded-proto"], "https");
  t.is(seen?.forwarded, undefined);
  t.is(seen?.["x-real-ip"], undefined);
});

test("a trusted proxy's X-Forwarded-For chain is kept and extended", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, trustedProxies: ["127.0.0.1"] });
  t.teardown(() => gw.close());
  await gw.request("/v1/secret/foo", { headers: { "x-forwarded-for": "203.0.113.7" } });
  t.is(backend.requests[0]?.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
});

test("hop-by-hop headers, and headers named in Connection, are not forwarded", async (t) => {
  const { backend, gw } = await setup(t);
  await gw.request("/v1/secret/foo", {
    headers: { connection: "x-secret-hop", "x-secret-hop": "1", "proxy-authorization": "Basic eA==", "x-kept": "yes" },
  });
  const seen = backend.requests[0]?.headers;
  t.is(seen?.["x-secret-hop"], undefined);
  t.is(seen?.["proxy-authorization"], undefined);
  t.is(seen?.["x-kept"], "yes");
});

test("a POST body reaches the backend intact", async (t) => {
  const { backend, gw } = await setup(t);
  const reply = await gw.request("/v1/secret/baz", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"value":"bar"}',
  });
  t.is(reply.status, 200);
  t.is(backend.requests[0]?.body, '{"value":"bar"}');
});

test("a chunked DELETE body stays framed: the backend sees exactly the requests that were sent", async (t) => {
  const { backend, gw } = await setup(t);
  const del = await gw.request("/v1/secret/foo", {
    method: "DELETE",
    headers: { "transfer-encoding": "chunked" },
    body: "GET /v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
  });
  t.is(del.status, 200);
  await gw.request("/v1/secret/after");
  t.deepEqual(
    backend.requests.map((r) => `${r.method} ${r.url}`),
    ["DELETE /v1/secret/foo", "GET /v1/secret/after"],
  );
});

test("a request body over the limit is refused with 413 and not forwarded", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, limits: { maxBodyBytes: 1024 } });
  t.teardown(() => gw.close());
  const reply = await gw.request("/v1/secret/big", { method: "POST", body: "x".repeat(2048) });
  t.is(reply.status, 413);
  t.deepEqual(JSON.parse(reply.body), { errors: ["request body too large"] });
  t.is(backend.requests.length, 0);
});

test("a plain-HTTP request to the TLS port gets no data back", async (t) => {
  const { gw } = await setup(t);
  const socket = connect(gw.port, "127.0.0.1");
  socket.write("GET /v1/secret/foo HTTP/1.1\r\nHost: x\r\n\r\n");
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  await new Promise((resolve) => socket.on("close", resolve));
  t.false(Buffer.concat(received).toString("latin1").includes("HTTP/1.1"));
});

test("the access log has one line per request with the normalized path and no token", async (t) => {
  const { gw } = await setup(t);
  await gw.request("/v1/secret/f%6fo");
  await gw.request("/v1/secret/foo", { token: "s.made-up-token-value" });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const access = gw.logs.filter((line) => line.msg === "request");
  t.is(access.length, 2);
  t.like(access[0], { method: "GET", path: "/v1/secret/foo", status: 200 });
  t.like(access[1], { status: 401 });
  t.false(gw.rawLog().includes(TEST_TOKEN));
  t.false(gw.rawLog().includes("made-up-token-value"));
});
