import { once } from "node:events";
import { readFileSync } from "node:fs";
import { Agent, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import httpProxy from "http-proxy";
import { Redis, type Result } from "ioredis";
import { childMain } from "./lib/child-main.js";

// Row (b), the floor: the least a gateway built on http-proxy can cost. node:https, one keep-alive agent, and, with
// a Redis URL, one EVALSHA of a tiny GCRA script per request; nothing else (no auth, no logging, no error bodies).

export interface FloorOptions {
  readonly backendUrl: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Without it, no Redis call at all (row b0). */
  readonly redisUrl?: string;
}

declare module "ioredis" {
  interface RedisCommander<Context> {
    floorTake(key: string, emissionUs: number, capacityUs: number): Result<[number, number], Context>;
  }
}

// GCRA in its smallest form: one key, the server's clock, admit if one more interval fits in the capacity.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local emission = tonumber(ARGV[1])
if tat + emission - now > tonumber(ARGV[2]) then return {0, tat - now} end
tat = tat + emission
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return {1, 0}
`;

// 1e9 requests a minute: never reached, so every request takes the full admit path (GET + SET)
const EMISSION_US = 1;
const CAPACITY_US = 60_000_000;

childMain<FloorOptions>(async (options) => {
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
  const proxy = httpProxy.createProxyServer({ target: options.backendUrl, agent });
  proxy.on("error", (_error, _req, res) => {
    if ("writeHead" in res && !res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  const redis = options.redisUrl === undefined ? undefined : new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  redis?.defineCommand("floorTake", { numberOfKeys: 1, lua: TAKE });

  const forward = (req: IncomingMessage, res: ServerResponse) => proxy.web(req, res);
  const handler =
    redis === undefined
      ? forward
      : (req: IncomingMessage, res: ServerResponse) => {
          const token = req.headers["x-vault-token"];
          redis.floorTake(`floor:${String(token)}`, EMISSION_US, CAPACITY_US).then(
            ([allowed]) => (allowed === 1 ? forward(req, res) : res.writeHead(429).end()),
            () => res.writeHead(503).end(),
          );
        };

  const server = createServer(
    { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile), keepAliveTimeout: 60_000 },
    handler,
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      redis?.disconnect();
    },
  };
});
