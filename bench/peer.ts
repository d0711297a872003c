import { readFileSync } from "node:fs";
import fastifyHttpProxy from "@fastify/http-proxy";
import fastifyRateLimit from "@fastify/rate-limit";
import Fastify from "fastify";
import { Redis } from "ioredis";
import { childMain } from "./lib/child-main.js";
import { BENCH_TOKEN } from "./lib/fixture.js";

// Row (e), the Node peer: what a team would assemble from the fastify ecosystem instead of Portcullis. fastify 5
// over TLS, a token check (a Map lookup, no backend call) in onRequest, @fastify/rate-limit on the same Redis with a
// limit never reached, @fastify/http-proxy forwarding with undici (its default). No access log.

export interface PeerOptions {
  readonly backendUrl: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly redisUrl: string;
}

childMain<PeerOptions>(async (options) => {
  const tokens = new Map([[BENCH_TOKEN, { policies: ["default"] }]]);
  // the settings fastify-rate-limit's README recommends for a limiter (fail fast, do not queue)
  const redis = new Redis(options.redisUrl, { connectTimeout: 500, maxRetriesPerRequest: 1 });
  const app = Fastify({
    https: { cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) },
    logger: false,
  });
  // registered before the rate limit, so it runs first: an unknown token never reaches Redis
  app.addHook("onRequest", async (request, reply) => {
    const token = request.headers["x-vault-token"];
    if (typeof token !== "string" || !tokens.has(token)) {
      return reply.code(403).send({ errors: ["permission denied"] });
    }
  });
  await app.register(fastifyRateLimit, {
    redis,
    max: 1_000_000_000,
    timeWindow: 60_000,
    keyGenerator: (request) => String(request.headers["x-vault-token"]),
  });
  await app.register(fastifyHttpProxy, { upstream: options.backendUrl, prefix: "/" });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("peer: no port");
  return {
    port: address.port,
    async close() {
      await app.close();
      redis.disconnect();
    },
  };
});
