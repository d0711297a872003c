import { Agent, request } from "node:https";
import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { testPki } from "../helpers/tls.js";

test("1000 concurrent requests with one new token cause exactly one token lookup at the backend", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const agent = new Agent({ ca: testPki().ca.cert, keepAlive: true, maxSockets: 50, servername: "localhost" });
  t.teardown(() => agent.destroy());
  const get = () =>
    new Promise<number>((resolve, reject) => {
      request(
        { host: "127.0.0.1", port: gw.port, path: "/v1/secret/x", agent, headers: { "x-nomad-token": TEST_TOKEN } },
        (res) => res.resume().on("end", () => resolve(res.statusCode ?? 0)),
      )
        .on("error", reject)
        .end();
    });
  const statuses = await Promise.all(Array.from({ length: 1000 }, get));
  t.deepEqual([...new Set(statuses)], [200]);
  t.is(backend.lookups.length, 1);
  t.is(backend.requests.length, 1000);
});

test("an invalid token is refused with 401 and the refusal is remembered briefly, not re-asked each time", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  for (let i = 0; i < 5; i++) {
    const reply = await gw.request("/v1/secret/x", { token: "hvs.not-a-real-token" });
    t.is(reply.status, 401);
    t.deepEqual(JSON.parse(reply.body), { errors: ["invalid or expired token"] });
  }
  t.is(backend.lookups.length, 1);
  t.is(backend.requests.length, 0);
});

test("with client certificates required, a stranger's certificate and no certificate get 401s that say why", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, tls: { clientCerts: { mode: "required" } } });
  t.teardown(() => gw.close());
  const pki = testPki();
  const none = await gw.request("/v1/secret/x");
  t.is(none.status, 401);
  t.deepEqual(JSON.parse(none.body), { errors: ["client certificate required"] });
  const stranger = await gw.request("/v1/secret/x", { clientCert: pki.other.client });
  t.is(stranger.status, 401);
  t.regex(JSON.parse(stranger.body).errors[0], /^client certificate is not trusted/);
  t.is(backend.requests.length, 0);

  const trusted = await gw.request("/v1/secret/x", { clientCert: pki.client });
  t.is(trusted.status, 200);
  const forwarded = backend.requests[0]?.headers["client-cert"];
  t.regex(String(forwarded), /^:[A-Za-z0-9+/]+=*:$/);
});

test("a Client-Cert header sent by the client never reaches the backend", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  await gw.request("/v1/secret/x", { headers: { "client-cert": ":Zm9yZ2Vk:" } });
  t.is(backend.requests[0]?.headers["client-cert"], undefined);
});
