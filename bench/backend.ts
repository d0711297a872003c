import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { childMain } from "./lib/child-main.js";
import { BENCH_BODY, BENCH_TOKEN, STREAM_PATH } from "./lib/fixture.js";

// The fixed-response backend every row forwards to: a Vault KV read answered from one prebuilt buffer, so the
// backend costs the same in every row and the differences are the proxies'.

const LOOKUP_OK = Buffer.from('{"data":{"ttl":0}}');
const LOOKUP_DENIED = Buffer.from('{"errors":["permission denied"]}');
const CHUNK = Buffer.alloc(64 * 1024, "x");

function send(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length }).end(body);
}

/** Streams `bytes` in 64 KiB chunks, waiting for 'drain': a proxy that ignores backpressure shows in its RSS. */
async function stream(res: ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes });
  let left = bytes;
  while (left > 0 && !res.destroyed) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!res.write(chunk)) await Promise.race([once(res, "drain"), once(res, "close")]);
  }
  res.end();
}

childMain<Record<string, never>>(async () => {
  const server = createServer({ keepAliveTimeout: 600_000 }, (req, res) => {
    const url = req.url ?? "/";
    if (url === "/v1/auth/token/lookup-self") {
      const ok = req.headers["x-vault-token"] === BENCH_TOKEN;
      return send(res, ok ? 200 : 403, ok ? LOOKUP_OK : LOOKUP_DENIED);
    }
    if (url.startsWith(STREAM_PATH)) {
      const bytes = Number(new URL(url, "http://backend").searchParams.get("bytes") ?? 0);
      return void stream(res, bytes);
    }
    send(res, 200, BENCH_BODY);
  });
  // idle proxies keep their pooled connections between rows: they must not be closed under them
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
