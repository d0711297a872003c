import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { conformance, download, eventually, open, setup, sleep } from "./suite.js";

const CHUNK = Buffer.alloc(64 * 1024);
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = (i * 31) & 0xff;

/** Streams `total` bytes (CHUNK repeated) with backpressure; counts what the backend managed to hand to its socket. */
function streamBytes(res: ServerResponse, total: number, framing: "length" | "chunked", sent = { bytes: 0 }) {
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    ...(framing === "length" ? { "content-length": total } : {}),
  });
  const chunks = (function* () {
    for (; sent.bytes < total; sent.bytes += CHUNK.length)
      yield CHUNK.subarray(0, Math.min(CHUNK.length, total - sent.bytes));
  })();
  void pipeline(Readable.from(chunks), res).catch(() => {});
}

function expectedHash(total: number): string {
  const hash = createHash("sha256");
  for (let at = 0; at < total; at += CHUNK.length) hash.update(CHUNK.subarray(0, Math.min(CHUNK.length, total - at)));
  return hash.digest("hex");
}

for (const framing of ["length", "chunked"] as const) {
  conformance(`a 16 MB response (${framing}) streams through whole and unchanged`, async (t, engine) => {
    const total = 16 * 1024 * 1024 + 17; // not a multiple of any buffer size
    const { gw } = await setup(t, engine, (_req, res) => streamBytes(res, total, framing));
    const got = await download(gw, "/v1/secret/big");
    t.is(got.status, 200);
    t.is(got.bytes, total);
    t.is(got.sha256, expectedHash(total));
    t.is(got.headers["content-length"], framing === "length" ? String(total) : undefined);
  });
}

conformance("a client that stops reading holds the backend back (backpressure)", async (t, engine) => {
  const sent = { bytes: 0 };
  const total = 512 * 1024 * 1024;
  const { gw } = await setup(t, engine, (_req, res) => streamBytes(res, total, "length", sent));
  const { req, response } = open(gw, "/v1/secret/big");
  t.teardown(() => req.destroy());
  const res = await response;
  res.pause();
  await sleep(1_000);
  const held = sent.bytes;
  t.log(`the backend got ${(held / 1024 / 1024).toFixed(1)} MB out while the client read nothing`);
  t.true(held < 64 * 1024 * 1024, `${held} bytes left the backend`);
});

// Without a length the body is a large one to the engines; under 1 MiB with a length it takes their shortest path
for (const [kind, head] of [
  ["of unknown length", {}],
  ["under 1 MiB", { "content-length": String(512 * 1024) }],
] as const) {
  conformance(
    `a client that goes away in the middle of a response ${kind} aborts the upstream request; the gateway serves on`,
    async (t, engine) => {
      let upstreamClosed = false;
      const { gw } = await setup(t, engine, (req, res) => {
        if (req.url !== "/v1/secret/dripping")
          return void res.writeHead(200, { "content-type": "application/json" }).end("{}");
        res.writeHead(200, { "content-type": "application/octet-stream", ...head });
        res.write(CHUNK.subarray(0, 1024));
        const timer = setInterval(() => res.write(CHUNK.subarray(0, 1024)), 10);
        res.on("close", () => {
          clearInterval(timer);
          upstreamClosed = true;
        });
      });
      const { req, response } = open(gw, "/v1/secret/dripping");
      const res = await response;
      await new Promise((resolve) => res.once("data", resolve));
      req.destroy();
      t.true(await eventually(() => upstreamClosed, 1_000), "the backend saw its response abandoned");
      const next = await gw.request("/v1/secret/next");
      t.is(next.status, 200);
      t.is(next.body, "{}");
    },
  );
}

conformance("a client that goes away before the response head aborts the upstream request", async (t, engine) => {
  let arrived = false;
  let upstreamClosed = false;
  const { gw } = await setup(t, engine, (req, res) => {
    if (req.url !== "/v1/secret/slow") return void res.writeHead(200, { "content-type": "application/json" }).end("{}");
    arrived = true;
    const timer = setTimeout(() => res.writeHead(200).end("late"), 5_000);
    res.on("close", () => {
      clearTimeout(timer);
      upstreamClosed = true;
    });
  });
  const { req } = open(gw, "/v1/secret/slow");
  t.true(await eventually(() => arrived, 5_000), "the request reached the backend");
  req.destroy();
  t.true(await eventually(() => upstreamClosed, 1_000), "the backend saw its request abandoned");
  t.is((await gw.request("/v1/secret/next")).status, 200);
});

// Bodies under 1 MiB with a declared length take the engines' shortest path to the client (undici writes them
// without a stream in between): the same guarantees hold there.
conformance("a response under 1 MiB read slowly arrives whole and unchanged", async (t, engine) => {
  const total = 900 * 1024 + 17;
  const sent = { bytes: 0 };
  const { gw } = await setup(t, engine, (_req, res) => streamBytes(res, total, "length", sent));
  const res = await open(gw, "/v1/secret/medium").response;
  res.pause();
  await sleep(300); // the client reads nothing for a while: the gateway's socket buffer fills
  t.log(`the backend got ${(sent.bytes / 1024).toFixed(0)} KiB out while the client read nothing`);
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
    await sleep(1); // and then slowly
  }
  t.is(res.statusCode, 200);
  t.is(bytes, total);
  t.is(hash.digest("hex"), expectedHash(total));
  t.is(res.headers["content-length"], String(total));
});

// Small answers usually arrive whole with their head, and one with a declared length is then sent on in one write
// (respond.ts; undici-forward.ts): each must still arrive with the right bytes and framing, and hand its backend
// connection back for the next request. Chunked and length-less answers take the stream, for comparison.
const BIG = "y".repeat(40 * 1024); // more than a response stream buffers before it pauses (16 KiB)
const SMALL_ANSWERS: Record<string, { answer: (res: ServerResponse) => void; status: number; body: string }> = {
  "/v1/secret/length": {
    answer: (res) => res.writeHead(200, { "content-length": 5 }).end("hello"),
    status: 200,
    body: "hello",
  },
  "/v1/secret/zero": { answer: (res) => res.writeHead(200, { "content-length": 0 }).end(), status: 200, body: "" },
  "/v1/secret/big": {
    answer: (res) => res.writeHead(200, { "content-length": BIG.length }).end(BIG),
    status: 200,
    body: BIG,
  },
  "/v1/secret/chunked": {
    answer: (res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("hel");
      res.end("lo");
    },
    status: 200,
    body: "hello",
  },
  "/v1/secret/empty": { answer: (res) => res.writeHead(204).end(), status: 204, body: "" },
};

conformance(
  "small answers of every framing come through whole, over one reused backend connection",
  async (t, engine) => {
    const { backend, gw } = await setup(t, engine, (req, res) => SMALL_ANSWERS[req.url ?? ""]?.answer(res));
    let connections = 0;
    backend.server.on("connection", () => connections++);
    for (let round = 0; round < 5; round++) {
      for (const [path, { status, body }] of Object.entries(SMALL_ANSWERS)) {
        const reply = await gw.request(path);
        t.is(reply.status, status, path);
        t.is(reply.body, body, path);
      }
    }
    t.is(backend.requests.length, 5 * Object.keys(SMALL_ANSWERS).length);
    // the first request's token lookup and the request itself may each open one; every later one reuses them
    t.true(connections <= 2, `${connections} backend connections for requests one after another`);
    // a HEAD answer declares the length of a body it does not carry (undici closes the connection after a HEAD, by
    // design, against servers that send a body anyway: not counted above)
    backend.respondWith((_req, res) => res.writeHead(200, { "content-length": 5 }).end());
    for (const path of ["/v1/secret/head", "/v1/secret/length"]) {
      const head = await gw.request(path, { method: "HEAD" });
      t.is(head.status, 200);
      t.is(head.body, "");
      t.is(head.headers["content-length"], "5");
    }
  },
);

// RFC 9110, 8.6: a 304 may carry the Content-Length of the representation it stands for, and never has a body
conformance(
  "a 304 declaring the length of a body it does not carry comes through, and the next request is served",
  async (t, engine) => {
    const { gw } = await setup(t, engine, (req, res) => {
      if (req.url === "/v1/secret/cached") res.writeHead(304, { "content-length": 5, etag: '"v1"' }).end();
      else res.writeHead(200, { "content-length": 2 }).end("ok");
    });
    for (let i = 0; i < 3; i++) {
      const reply = await gw.request("/v1/secret/cached", { headers: { "if-none-match": '"v1"' } });
      t.is(reply.status, 304);
      t.is(reply.body, "");
      t.is(reply.headers.etag, '"v1"');
      const next = await gw.request("/v1/secret/other");
      t.is(next.status, 200);
      t.is(next.body, "ok");
    }
  },
);
