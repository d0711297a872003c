import test from "ava";
import { startBackend } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { openTls } from "./helpers/raw-tls.js";

const HEADERS_TIMEOUT_MS = 2_000;

test("50 slowloris connections (a header byte every 500 ms) are closed by the headers timeout + 1.5 s, while a normal client is served", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS } });
  t.teardown(() => gw.close());

  const lifetimes = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const socket = await openTls(gw.port);
      const opened = performance.now();
      const line = Buffer.from(`GET /v1/secret/${i} HTTP/1.1\r\nHost: gw\r\nX-Slow: ${"a".repeat(100)}`);
      let sent = 0;
      const drip = setInterval(() => {
        if (!socket.destroyed) socket.write(line.subarray(sent % line.length, (sent++ % line.length) + 1));
      }, 500);
      socket.on("error", () => {});
      socket.resume(); // it reads what it is sent, as slowhttptest does: the 408 and the close
      await new Promise((resolve) => socket.once("close", resolve));
      clearInterval(drip);
      return performance.now() - opened;
    }).concat(
      (async () => {
        // the normal client, meanwhile: a request every 250 ms must succeed
        const statuses: number[] = [];
        for (let i = 0; i < 10; i++) {
          statuses.push((await gw.request("/v1/secret/normal")).status);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        t.deepEqual(statuses, Array(10).fill(200));
        return 0;
      })(),
    ),
  );
  const longest = Math.max(...lifetimes);
  t.log(`longest slow connection lived ${Math.round(longest)} ms (headers timeout ${HEADERS_TIMEOUT_MS} ms)`);
  t.true(longest < HEADERS_TIMEOUT_MS + 1_500);
});
