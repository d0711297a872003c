import type { IncomingMessage, ServerResponse } from "node:http";
import { Redis } from "ioredis";
import { type Dispatcher, Pool } from "undici";
import { childMain } from "./lib/child-main.js";
import { gcraTake } from "./lib/gcra-take.js";
import { serveTls } from "./lib/tls-server.js";

// Row (g), the least a gateway on undici can cost: the hand-written reference. node:https, one undici Pool
// driven through dispatch(), one EVALSHA of the floor's GCRA script per request; nothing else (no auth, no header
// hygiene, no logging, no error bodies). What Portcullis costs above it is what its features cost.

export interface MinimalOptions {
  readonly backendUrl: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly redisUrl: string;
}

childMain<MinimalOptions>(async (options) => {
  const pool = new Pool(options.backendUrl, { pipelining: 1 });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const take = gcraTake(redis);

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    headers.host = undefined;
    headers.connection = undefined;
    pool.dispatch(
      { path: req.url ?? "/", method: req.method ?? "GET", headers, body: req.method === "GET" ? null : req },
      replyTo(res),
    );
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    take(`minimal:${String(req.headers["x-vault-token"])}`).then(
      (allowed) => (allowed ? forward(req, res) : res.writeHead(429).end()),
      () => res.writeHead(503).end(),
    );
  };

  return serveTls(options, handler, async () => {
    await pool.destroy();
    redis.disconnect();
  });
});

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding"]);

/** The backend's answer written to the client as it comes, hop-by-hop headers dropped. */
function replyTo(res: ServerResponse): Dispatcher.DispatchHandler {
  return {
    onConnect() {},
    onHeaders(status, rawHeaders, resume) {
      // undici's parsers must not be re-entered: a drain can fire while one runs
      res.on("drain", () => process.nextTick(resume));
      const headers: string[] = [];
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = String(rawHeaders[i]);
        if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, String(rawHeaders[i + 1]));
      }
      res.writeHead(status, headers);
      return true;
    },
    onData(chunk) {
      return res.write(chunk);
    },
    onComplete() {
      res.end();
    },
    onError() {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
  };
}
