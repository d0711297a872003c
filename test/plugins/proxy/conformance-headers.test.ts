import { TEST_TOKEN } from "../../helpers/backend.js";
import { startRawBackend } from "./raw-backend.js";
import { conformance, gatewayFor, setup } from "./suite.js";

conformance("the path and query reach the backend as the client sent them", async (t, engine) => {
  const { backend, gw } = await setup(t, engine);
  const reply = await gw.request("/v1/secret/foo?list=true&q=a%20b&q=c");
  t.is(reply.status, 200);
  t.deepEqual(
    backend.requests.map((r) => r.url),
    ["/v1/secret/foo?list=true&q=a%20b&q=c"],
  );
});

conformance(
  "the token reaches the backend only in X-Vault-Token, and the token cookie is stripped",
  async (t, engine) => {
    const { backend, gw } = await setup(t, engine);
    await gw.request("/v1/secret/foo", { headers: { cookie: `theme=dark; token=${TEST_TOKEN}; lang=en` } });
    const seen = backend.requests[0]?.headers;
    t.is(seen?.["x-vault-token"], TEST_TOKEN);
    t.is(seen?.["x-nomad-token"], undefined);
    t.is(seen?.cookie, "theme=dark; lang=en");
    const raw = backend.requests[0]?.rawHeaders.join("\n") ?? "";
    t.is(raw.split(TEST_TOKEN).length - 1, 1, "the token appears exactly once in what the backend received");
  },
);

conformance("a cookie holding only the token is not forwarded at all", async (t, engine) => {
  const { backend, gw } = await setup(t, engine);
  await gw.request("/v1/secret/foo", { token: null, headers: { cookie: `token=${TEST_TOKEN}` } });
  t.is(backend.requests[0]?.headers.cookie, undefined);
  t.is(backend.requests[0]?.headers["x-vault-token"], TEST_TOKEN);
});

conformance("X-Forwarded-* and Forwarded come from the gateway, never from the client", async (t, engine) => {
  const { backend, gw } = await setup(t, engine);
  await gw.request("/v1/secret/foo", {
    headers: {
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-proto": "gopher",
      "x-forwarded-host": "evil.example",
      "x-forwarded-port": "1",
      forwarded: "for=6.6.6.6",
      "x-real-ip": "6.6.6.6",
    },
  });
  const seen = backend.requests[0]?.headers;
  t.is(seen?.["x-forwarded-for"], "127.0.0.1");
  t.is(seen?.["x-forwarded-proto"], "https");
  t.is(seen?.["x-forwarded-host"], `127.0.0.1:${gw.port}`);
  t.is(seen?.["x-forwarded-port"], undefined);
  t.is(seen?.forwarded, undefined);
  t.is(seen?.["x-real-ip"], undefined);
});

conformance("hop-by-hop headers and headers named in Connection are not forwarded", async (t, engine) => {
  const { backend, gw } = await setup(t, engine);
  await gw.request("/v1/secret/foo", {
    headers: {
      connection: "x-secret-hop, keep-alive",
      "x-secret-hop": "1",
      "keep-alive": "timeout=1",
      "proxy-authorization": "Basic eA==",
      te: "trailers",
      upgrade: "websocket",
      "x-kept": "yes",
    },
  });
  const seen = backend.requests[0]?.headers ?? {};
  for (const name of ["x-secret-hop", "keep-alive", "proxy-authorization", "te", "upgrade"]) {
    t.is(seen[name], undefined, name);
  }
  t.is(seen["x-kept"], "yes");
});

conformance("the backend gets its own Host, not the one the client addressed", async (t, engine) => {
  const { backend, gw } = await setup(t, engine);
  await gw.request("/v1/secret/foo", { headers: { host: "vault.example" } });
  t.is(backend.requests[0]?.headers.host, `127.0.0.1:${backend.port}`);
});

conformance(
  "the backend's hop-by-hop response headers, and those it names in Connection, stay behind",
  async (t, engine) => {
    const raw = await startRawBackend(
      () =>
        "HTTP/1.1 200 OK\r\nconnection: x-internal\r\nx-internal: secret\r\nkeep-alive: timeout=5\r\n" +
        "x-kept: yes\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    );
    t.teardown(() => raw.close());
    const gw = await gatewayFor(t, engine, raw.url);
    const reply = await gw.request("/v1/secret/foo");
    t.is(reply.status, 200);
    t.is(reply.body, "{}");
    t.is(reply.headers["x-internal"], undefined);
    t.is(reply.headers["keep-alive"], undefined);
    t.is(reply.headers["x-kept"], "yes");
  },
);

conformance("repeated Set-Cookie lines from the backend all reach the client", async (t, engine) => {
  const { gw } = await setup(t, engine, (_req, res) => {
    res.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/"]);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  const reply = await gw.request("/v1/secret/foo");
  t.deepEqual(reply.headers["set-cookie"], ["a=1; Path=/", "b=2; Path=/"]);
});

conformance("a login answer gets the token cookie through the response hooks", async (t, engine) => {
  const { backend, gw } = await setup(t, engine, (_req, res) => {
    const body = JSON.stringify({ auth: { client_token: "t", lease_duration: 60 } });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  });
  const reply = await gw.request("/v1/auth/userpass/login/x", {
    method: "POST",
    token: null,
    body: '{"password":"p"}',
  });
  t.is(reply.status, 200);
  t.deepEqual(JSON.parse(reply.body), { auth: { client_token: "t", lease_duration: 60 } });
  t.deepEqual(reply.headers["set-cookie"], ["token=t; HttpOnly; Secure; SameSite=Strict; Path=/v1/; Max-Age=60"]);
  t.is(backend.requests[0]?.body, '{"password":"p"}');
});

conformance("HEAD is answered with the backend's headers and no body", async (t, engine) => {
  const body = `{"data":"${"x".repeat(31)}"}`; // 42 bytes, sent for the GET only
  const { backend, gw } = await setup(t, engine, (req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "42", "x-method": req.method });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  const reply = await gw.request("/v1/secret/foo", { method: "HEAD" });
  t.is(reply.status, 200);
  t.is(reply.headers["content-length"], "42");
  t.is(reply.headers["x-method"], "HEAD");
  t.is(reply.body, "");
  t.is((await gw.request("/v1/secret/after")).status, 200);
  t.deepEqual(
    backend.requests.map((r) => r.method),
    ["HEAD", "GET"],
  );
});

conformance("a 204 is relayed as a 204 without a body", async (t, engine) => {
  const { gw } = await setup(t, engine, (_req, res) => res.writeHead(204, { "x-done": "1" }).end());
  const reply = await gw.request("/v1/secret/foo", { method: "DELETE" });
  t.is(reply.status, 204);
  t.is(reply.headers["x-done"], "1");
  t.is(reply.body, "");
  t.is((await gw.request("/v1/secret/after")).status, 204);
});
