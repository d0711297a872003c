import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import { TEST_TOKEN } from "../../helpers/backend.js";
import { testPki } from "../../helpers/tls.js";
import { startRawBackend } from "./raw-backend.js";
import { conformance, gatewayFor, setup, sleep, withLoopDelay } from "./suite.js";

const UNAVAILABLE = { errors: ["the backend is unavailable, try again later"] };

conformance(
  "a backend that is down gives 503 with Retry-After; once it is back, requests succeed",
  async (t, engine) => {
    const { backend, gw } = await setup(t, engine);
    t.is((await gw.request("/v1/secret/foo")).status, 200); // the token is verified and cached now
    await backend.close();
    const down = await gw.request("/v1/secret/foo");
    t.is(down.status, 503);
    t.is(down.headers["retry-after"], "1");
    t.deepEqual(JSON.parse(down.body), UNAVAILABLE);
    await backend.restart();
    t.is((await gw.request("/v1/secret/foo")).status, 200);
  },
);

conformance(
  "a connection reset before the response head gives 503, and the next request is served",
  async (t, engine) => {
    let reset = true;
    const { gw } = await setup(t, engine, (req, res) => {
      if (reset) return void req.socket.resetAndDestroy();
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    const failed = await gw.request("/v1/secret/foo");
    t.is(failed.status, 503);
    t.is(failed.headers["retry-after"], "1");
    t.deepEqual(JSON.parse(failed.body), UNAVAILABLE);
    reset = false;
    t.is((await gw.request("/v1/secret/foo")).status, 200);
  },
);

conformance("a backend that dies mid-body ends the client's connection at once", async (t, engine) => {
  let resetAt = 0;
  const { gw } = await setup(t, engine, (req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
    res.write("x".repeat(1000));
    setTimeout(() => {
      resetAt = performance.now();
      req.socket.resetAndDestroy();
    }, 50);
  });
  const { loopDelayMs } = await withLoopDelay(() => t.throwsAsync(gw.request("/v1/secret/foo")));
  const elapsed = performance.now() - resetAt;
  const late = `the client's connection ended ${Math.round(elapsed)} ms after the reset (loop delay ${loopDelayMs} ms)`;
  t.true(elapsed < 500 + loopDelayMs, late);
});

conformance("a backend that answers something that is not HTTP gives 502", async (t, engine) => {
  const backend = await startRawBackend((_request, socket) => void socket.end("SSH-2.0-OpenSSH_9.0\r\n\r\n"));
  t.teardown(() => backend.close());
  const gw = await gatewayFor(t, engine, backend.url);
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 502);
  t.deepEqual(JSON.parse(reply.body), { errors: ["the backend sent an invalid response"] });
});

conformance("a response head with a broken header line gives 502", async (t, engine) => {
  const backend = await startRawBackend(() => "HTTP/1.1 200 OK\r\nbroken header\r\ncontent-length: 2\r\n\r\n{}");
  t.teardown(() => backend.close());
  const gw = await gatewayFor(t, engine, backend.url);
  t.is((await gw.request("/v1/secret/foo")).status, 502);
});

for (const timeoutMs of [300, 1_500]) {
  conformance.serial(
    `a backend that never answers gives 503 ${timeoutMs} ms after it got the request`,
    async (t, engine) => {
      let arrivedAt = 0;
      const hold = () => {
        arrivedAt = performance.now(); // and never answer
      };
      const { gw } = await setup(t, engine, hold, { upstream: { timeoutMs } });
      const sentAt = performance.now();
      const { result: reply, loopDelayMs } = await withLoopDelay(() => gw.request("/v1/secret/foo"));
      const answeredAt = performance.now();
      t.is(reply.status, 503);
      t.is(reply.headers["retry-after"], "1");
      t.deepEqual(JSON.parse(reply.body), { errors: ["the backend did not answer in time"] });
      // the timer starts between the client's sending and the backend's receiving: bound it from both sides
      const late = `answered ${Math.round(answeredAt - arrivedAt)} ms after the backend got the request (loop delay ${loopDelayMs} ms)`;
      t.log(late);
      t.true(answeredAt - sentAt >= timeoutMs, `answered ${Math.round(answeredAt - sentAt)} ms after sending`);
      t.true(answeredAt - arrivedAt < timeoutMs + 500 + loopDelayMs, late);
    },
  );
}

conformance.serial("a slow backend that answers within the timeout is served", async (t, engine) => {
  const { gw } = await setup(
    t,
    engine,
    (_req, res) => void setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end("{}"), 300),
    { upstream: { timeoutMs: 1_500 } },
  );
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 200);
  t.is(reply.body, "{}");
});

conformance.serial(
  "the timeout is for silence, not for the whole body: a steady slow body completes",
  async (t, engine) => {
    const { gw } = await setup(
      t,
      engine,
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        let sent = 0;
        const timer = setInterval(() => {
          res.write("0123456789");
          if (++sent === 8) {
            clearInterval(timer);
            res.end();
          }
        }, 250);
      },
      { upstream: { timeoutMs: 1_200 } },
    );
    const reply = await gw.request("/v1/secret/foo");
    t.is(reply.status, 200);
    t.is(reply.body, "0123456789".repeat(8));
  },
);

conformance("after the backend closed an idle kept-alive connection, the next request is served", async (t, engine) => {
  const { backend, gw } = await setup(t, engine);
  backend.server.keepAliveTimeout = 100;
  t.is((await gw.request("/v1/secret/foo")).status, 200);
  await sleep(300);
  t.is((await gw.request("/v1/secret/foo")).status, 200);
});

conformance.serial("an upload that keeps coming for longer than the timeout is not cut off", async (t, engine) => {
  const { backend, gw } = await setup(t, engine, undefined, { upstream: { timeoutMs: 600 } });
  t.is((await gw.request("/v1/secret/warm")).status, 200); // token verified: the upload goes straight on
  const req = request({
    host: "127.0.0.1",
    port: gw.port,
    method: "PUT",
    path: "/v1/secret/upload",
    ca: testPki().ca.cert,
    servername: "localhost",
    agent: false,
    headers: { "x-nomad-token": TEST_TOKEN, "transfer-encoding": "chunked" },
  });
  const response = once(req, "response"); // listening from the start: a failure answers mid-upload
  req.on("error", () => {});
  for (let i = 0; i < 8; i++) {
    req.write(`part ${i};`);
    await sleep(200);
  }
  req.end();
  const [res] = (await response) as [IncomingMessage];
  res.resume();
  t.is(res.statusCode, 200);
  t.is(backend.requests.at(-1)?.body, Array.from({ length: 8 }, (_, i) => `part ${i};`).join(""));
});
