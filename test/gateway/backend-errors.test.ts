import { createServer } from "node:net";
import test from "ava";
// Error-body rewriting is covered for both engines by test/plugins/proxy/conformance-errors.test.ts; the cases
// here are the gateway-level ones that suite does not hold.
import { startBackend } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { closeServer, listen } from "../helpers/servers.js";

test("a backend that resets the connection gives 503 with Retry-After, and the next request is served", async (t) => {
  let reset = true;
  const backend = await startBackend((req, res) => {
    if (reset) return void req.socket.resetAndDestroy();
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const failed = await gw.request("/v1/secret/foo");
  t.is(failed.status, 503);
  t.is(failed.headers["retry-after"], "1");
  t.deepEqual(JSON.parse(failed.body), { errors: ["the backend is unavailable, try again later"] });
  reset = false;
  t.is((await gw.request("/v1/secret/foo")).status, 200);
});

test("backend down gives 503; when it comes back, requests succeed without a restart", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  t.is((await gw.request("/v1/secret/foo")).status, 200);
  await backend.close();
  const down = await gw.request("/v1/secret/foo");
  t.is(down.status, 503);
  t.true(Array.isArray(JSON.parse(down.body).errors));
  await backend.restart();
  t.is((await gw.request("/v1/secret/foo")).status, 200);
});

test("a backend that never answers gives 503 after the upstream timeout", async (t) => {
  const backend = await startBackend(() => {}); // holds every request open
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url, timeoutMs: 300 } });
  t.teardown(() => gw.close());
  const started = performance.now();
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 503);
  t.deepEqual(JSON.parse(reply.body), { errors: ["the backend did not answer in time"] });
  t.true(performance.now() - started < 2_000);
});

test("a backend that answers garbage gives 502 in the errors shape", async (t) => {
  // token lookups get a proper answer, so the request that meets the garbage is the forwarded one
  const lookupOk = JSON.stringify({ data: { ttl: 0 } });
  const garbage = createServer((socket) => {
    socket.once("data", (head: Buffer) => {
      socket.resume();
      if (!head.toString("latin1").startsWith("GET /v1/auth/token/lookup-self ")) {
        return void socket.end("SSH-2.0-OpenSSH_9.0\r\n\r\n");
      }
      socket.end(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${lookupOk.length}\r\nconnection: close\r\n\r\n${lookupOk}`,
      );
    });
  });
  const port = await listen(garbage);
  t.teardown(() => closeServer(garbage));
  const gw = await startGateway({ upstream: { url: `http://127.0.0.1:${port}` } });
  t.teardown(() => gw.close());
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 502);
  t.deepEqual(JSON.parse(reply.body), { errors: ["the backend sent an invalid response"] });
});

test("a backend that dies mid-body ends the client's connection instead of leaving it hanging", async (t) => {
  const backend = await startBackend((req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
    res.write("x".repeat(1000));
    setTimeout(() => req.socket.destroy(), 50);
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const started = performance.now();
  await t.throwsAsync(gw.request("/v1/secret/foo"));
  t.true(performance.now() - started < 2_000);
});

test("a backend that breaks off an error body gives 502, not an internal error", async (t) => {
  const backend = await startBackend((req, res) => {
    res.writeHead(500, { "content-type": "application/json", "content-length": "1000" });
    res.write('{"errors":["half');
    setTimeout(() => req.socket.destroy(), 20);
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 502);
  t.deepEqual(JSON.parse(reply.body), { errors: ["the backend broke off its response"] });
});

test("closing the gateway closes its kept-alive connections to the backend", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  await gw.request("/v1/secret/foo");
  const open = () => new Promise<number>((resolve) => backend.server.getConnections((_e, count) => resolve(count)));
  t.true((await open()) >= 1);
  await gw.close();
  for (let i = 0; i < 20 && (await open()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(await open(), 0);
});

test("a sealed backend is remembered briefly: retries are answered 503 here, unseal paths still go through", async (t) => {
  let sealed = true;
  const backend = await startBackend((_req, res) => {
    if (!sealed) return void res.writeHead(200, { "content-type": "application/json" }).end("{}");
    res.writeHead(503, { "content-type": "application/json" }).end('{"errors":["Vault is sealed"]}');
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const first = await gw.request("/v1/secret/foo");
  t.deepEqual([first.status, JSON.parse(first.body)], [503, { errors: ["Vault is sealed"] }]);
  const retries = await Promise.all([1, 2, 3].map(() => gw.request("/v1/secret/foo")));
  for (const retry of retries) {
    t.is(retry.status, 503);
    t.is(retry.headers["retry-after"], "1");
    t.deepEqual(JSON.parse(retry.body), { errors: ["the backend is sealed or unavailable, try again later"] });
  }
  t.is(backend.requests.length, 1, "the retries never reached the backend");
  t.is((await gw.request("/v1/sys/seal-status", { token: null })).status, 503);
  t.is(backend.requests.length, 2, "seal-status is always forwarded");
  sealed = false;
  t.is((await gw.request("/v1/sys/unseal", { method: "PUT", token: null, body: "{}" })).status, 200);
  t.is((await gw.request("/v1/secret/foo")).status, 200, "an answer below 500 ends the cooldown at once");
});

test("the stage-error hook is told which stage failed; a hook that throws costs the client nothing", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const told: string[] = [];
  const gw = await startGateway(
    { upstream: { url: backend.url } },
    {
      onStageError: (_error, _ctx, stage) => {
        told.push(stage);
        throw new Error("a broken metrics hook");
      },
    },
  );
  t.teardown(() => gw.close());
  t.is((await gw.request("/v1/secret/foo")).status, 200); // warms the token cache: the proxy is what fails next
  await backend.close();
  const down = await gw.request("/v1/secret/foo");
  t.is(down.status, 503);
  t.deepEqual(JSON.parse(down.body), { errors: ["the backend is unavailable, try again later"] });
  t.deepEqual(told, ["proxy"]);
  t.true(
    gw.logs.some((line) => line.msg === "request failed" && JSON.stringify(line).includes("a broken metrics hook")),
  );
});
