import { request } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { testPki } from "../helpers/tls.js";

const SIZE = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "a");

test("a 50 MB response streams through while the gateway's memory grows by far less", async (t) => {
  const backend = await startBackend((_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": SIZE });
    const chunks = (function* () {
      for (let sent = 0; sent < SIZE; sent += CHUNK.length) yield CHUNK;
    })();
    void pipeline(Readable.from(chunks), res).catch(() => {});
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  await gw.request("/v1/secret/warm-up-small"); // so the first request's one-off allocations are not counted
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const received = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: gw.port,
        path: "/v1/secret/big",
        ca: testPki().ca.cert,
        servername: "localhost",
        headers: { "x-nomad-token": TEST_TOKEN },
      },
      (res) => {
        let count = 0;
        res.on("data", (chunk: Buffer) => {
          count += chunk.length;
          peak = Math.max(peak, process.memoryUsage().rss);
        });
        res.on("end", () => resolve(count));
        res.on("error", reject);
      },
    );
    req.on("error", reject).end();
  });
  t.is(received, SIZE);
  const growthMb = (peak - before) / 1024 / 1024;
  t.log(`RSS growth while streaming 50 MB (backend, gateway and client in one process): ${growthMb.toFixed(1)} MB`);
  t.true(growthMb < 20, `RSS grew by ${growthMb.toFixed(1)} MB`);
});
