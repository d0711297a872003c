import { Agent, type IncomingMessage, type ServerResponse } from "node:http";
import httpProxy from "http-proxy";
import { Redis } from "ioredis";
import { childMain } from "./lib/child-main.js";
import { gcraTake } from "./lib/gcra-take.js";
import { serveTls } from "./lib/tls-server.js";

// Row (b), the floor: the least a gateway built on http-proxy can cost. node:https, one keep-alive agent, and, with
// a Redis URL, one EVALSHA of a tiny GCRA script per request; nothing else (no auth, no logging, no error bodies).

export interface FloorOptions {
  readonly backendUrl: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Without it, no Redis call at all (row b0). */
  readonly redisUrl?: string;
}

childMain<FloorOptions>(async (options) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
  const proxy = httpProxy.createProxyServer({ target: options.backendUrl, agent });
  proxy.on("error", (_error, _req, res) => {
    if ("writeHead" in res && !res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  const redis = options.redisUrl === undefined ? undefined : new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const take = redis === undefined ? undefined : gcraTake(redis);

  const forward = (req: IncomingMessage, res: ServerResponse) => proxy.web(req, res);
  const handler =
    take === undefined
      ? forward
      : (req: IncomingMessage, res: ServerResponse) => {
          take(`floor:${String(req.headers["x-vault-token"])}`).then(
            (allowed) => (allowed ? forward(req, res) : res.writeHead(429).end()),
            () => res.writeHead(503).end(),
          );
        };

  return serveTls(options, handler, () => {
    agent.destroy();
    redis?.disconnect();
  });
});
