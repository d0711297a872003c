import { ConfigError } from "../errors/gateway-error.js";
import { Cluster, Redis } from "./ioredis.js";
import type { RedisClient } from "./redis.js";

export interface RedisNode {
  host: string;
  port: number;
}

/** Where the rate-limit Redis is: exactly one of `url`, `sentinels` (+ `sentinelMaster`) or `clusterNodes`. */
export interface RedisClientConfig {
  /** A single node: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string;
  sentinels?: readonly RedisNode[];
  /** The master name the sentinels watch. */
  sentinelMaster?: string;
  /** Some nodes of a Redis Cluster; the client discovers the rest. */
  clusterNodes?: readonly RedisNode[];
  username?: string;
  password?: string;
  /** TLS to the nodes (implied by a rediss:// url). */
  tls?: boolean;
  /**
   * How long one command may take before ioredis fails it (default 250): a request never waits longer on Redis.
   * `false` sets no timer per command, for a client whose user keeps its own deadlines (a RedisLimiter given a
   * timeoutMs): ioredis' timer costs a set and a clear per command, as much as the rest of a limited request's
   * bookkeeping.
   */
  commandTimeoutMs?: number | false;
  /** How long opening a connection may take (default 1000). */
  connectTimeoutMs?: number;
  /** Upper bound of the reconnect backoff (default 2000). */
  maxReconnectDelayMs?: number;
  /** Told about connection errors; ioredis would print them to stderr when nobody listens. */
  onError?: (error: Error) => void;
}

/**
 * Builds a client tuned for a limiter that must answer fast or not at all: no offline queue (a command while
 * disconnected fails at once, and FallbackLimiter answers instead of the request waiting), one retry at most, a
 * deadline per command (or none, for a user keeping its own), and reconnection in the background with capped
 * exponential backoff and jitter.
 * @example
 * const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
 * const limiter = new RedisLimiter(createRedisClient({ url, commandTimeoutMs: false }), { timeoutMs: 250 });
 */
export function createRedisClient(config: RedisClientConfig): RedisClient {
  const modes = [config.url, config.sentinels, config.clusterNodes].filter((mode) => mode !== undefined);
  if (modes.length !== 1) throw new ConfigError("redis: set exactly one of url, sentinels, clusterNodes");
  const commandTimeoutMs = config.commandTimeoutMs ?? 250;
  const maxDelay = positive(config.maxReconnectDelayMs ?? 2000, "maxReconnectDelayMs");
  const backoff = (attempt: number): number => Math.min(maxDelay, 50 * 2 ** Math.min(attempt, 10)) + jitter();
  const common = {
    ...(commandTimeoutMs === false ? {} : { commandTimeout: positive(commandTimeoutMs, "commandTimeoutMs") }),
    connectTimeout: positive(config.connectTimeoutMs ?? 1000, "connectTimeoutMs"),
    maxRetriesPerRequest: 1,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(config.tls === true ? { tls: {} } : {}),
  };
  const client = build(config, common, backoff);
  client.on("error", (error: Error) => config.onError?.(error));
  return client;
}

type CommonOptions = {
  commandTimeout?: number;
  connectTimeout: number;
  maxRetriesPerRequest: number;
  username?: string;
  password?: string;
  tls?: object;
};

function build(config: RedisClientConfig, common: CommonOptions, backoff: (attempt: number) => number): RedisClient {
  if (config.clusterNodes !== undefined) {
    if (config.clusterNodes.length === 0) throw new ConfigError("redis.clusterNodes: list at least one node");
    return new Cluster(
      config.clusterNodes.map((node) => ({ ...node })),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: backoff,
        // a cluster still electing a master answers CLUSTERDOWN: retry quickly, the command deadline still holds
        retryDelayOnClusterDown: 50,
        retryDelayOnFailover: 50,
        slotsRefreshTimeout: common.connectTimeout,
        redisOptions: common,
      },
    );
  }
  const options = { ...common, enableOfflineQueue: false, retryStrategy: backoff };
  if (config.url !== undefined) {
    if (!/^rediss?:\/\//.test(config.url)) throw new ConfigError("redis.url: must start with redis:// or rediss://");
    return new Redis(config.url, options);
  }
  const sentinels = config.sentinels ?? [];
  if (sentinels.length === 0) throw new ConfigError("redis.sentinels: list at least one sentinel");
  if (!config.sentinelMaster) throw new ConfigError("redis.sentinelMaster: required with sentinels");
  return new Redis({
    ...options,
    sentinels: sentinels.map((node) => ({ ...node })),
    name: config.sentinelMaster,
    sentinelRetryStrategy: backoff,
  });
}

function positive(value: number, field: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`redis.${field}: must be a positive number`);
  return value;
}

// spreads the reconnects of many gateways after a Redis restart, so they do not all arrive in the same instant
function jitter(): number {
  return Math.floor(Math.random() * 100);
}

/**
 * Resolves true once the client is ready, false after timeoutMs. Without an offline queue a command sent before
 * the first connection fails at once, so a gateway awaits this at start; a false only means it starts on the
 * fallback until Redis answers.
 */
export async function whenReady(client: RedisClient, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return true;
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on("ready", onReady);
  });
}
