import { request } from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { testPki } from "../helpers/tls.js";

const SIZE = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "a");

// serial: the other tests of this file hold buffers of their own, and they would count here
test.serial("a 50 MB response streams through while the gateway holds only a few chunks of it", async (t) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return t.fail("run with --expose-gc (package.json's ava nodeArguments)");
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
  gc();
  const before = process.memoryUsage().rss;
  let peakRss = before;
  let heldMidStream = Number.NaN;
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
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
          if (count >= SIZE / 2 && Number.isNaN(heldMidStream)) {
            // what is still referenced half-way, garbage aside: a few chunks in flight, never the body so far.
            // The client stops reading meanwhile (so backpressure is in force).
            heldMidStream = 0;
            res.pause();
            void settledArrayBuffers(gc).then((bytes) => {
              heldMidStream = bytes;
              res.resume();
            });
          }
        });
        res.on("end", () => resolve(count));
        res.on("error", reject);
      },
    );
    req.on("error", reject).end();
  });
  t.is(received, SIZE);
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  // RSS peaks with socket chunks not yet collected (V8 collects them in its own time): a figure, not a bound
  t.log(`backend, gateway and client in one process: RSS peak +${mb(peakRss - before)} MB`);
  t.log(`ArrayBuffers half-way through, after a GC: ${mb(heldMidStream)} MB`);
  t.true(heldMidStream < 8 * 1024 * 1024, `${mb(heldMidStream)} MB of buffers held half-way`);
});

// 400 KiB: under the size the engines send without a stream in between, once read for the cookie it must not be
for (const [size, label] of [
  [3 * 1024 * 1024, "3 MiB"],
  [400 * 1024, "400 KiB"],
] as const) {
  test(`a login answer larger than the capture bound is relayed whole, without a cookie (${label})`, async (t) => {
    // login answers are read to set the token cookie; one over the bound must still stream on after its start
    const body = Buffer.alloc(size, "b");
    const backend = await startBackend((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      // a first piece just over the bound, small enough that relaying it leaves nothing to drain
      res.write(body.subarray(0, 2048));
      setTimeout(() => res.end(body.subarray(2048)), 100);
    });
    t.teardown(() => backend.close());
    const gw = await startGateway({ upstream: { url: backend.url }, limits: { maxCapturedBodyBytes: 1024 } });
    t.teardown(() => gw.close());
    const reply = await gw.request("/v1/auth/userpass/login/alice", {
      method: "POST",
      token: null,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: "pw" }),
    });
    t.is(reply.status, 200);
    t.is(reply.body.length, body.length);
    t.is(reply.headers["set-cookie"], undefined);
  });
}

/**
 * ArrayBuffer bytes still referenced: V8 frees the memory of dead buffers concurrently, some time after a GC, so
 * one reading right after a GC may still count garbage; the least of a few readings, GCs and pauses apart, does not.
 */
async function settledArrayBuffers(gc: () => void): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    least = Math.min(least, process.memoryUsage().arrayBuffers);
  }
  return least;
}
