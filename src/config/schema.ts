import { isIP } from "node:net";
import { z } from "zod";
import { DEFAULT_MAX_HEADERS_COUNT } from "../plugins/route/header-hygiene.js";

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
/** Milliseconds a Node timer can hold (larger ones fire at once, with a warning). */
const durationMs = positiveInt.max(2_147_483_647);
const headerName = z
  .string()
  .regex(/^[a-z0-9-]+$/i, "a header name of letters, digits and dashes")
  .transform((name) => name.toLowerCase());
const ipAddress = z.string().refine((value) => isIP(value) !== 0, "an IP address");
const url = z
  .string()
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), "an http:// or https:// URL");

const clientCerts = z.strictObject({
  mode: z.enum(["off", "optional", "required"]).default("off"),
  caFile: z.string().optional(),
  crlFile: z.string().optional(),
  /** Refuse untrusted clients in the TLS handshake instead of with a 401 that says why. */
  refuseAtHandshake: z.boolean().default(false),
});

const tls = z.strictObject({
  /** false serves plain HTTP: for a gateway behind a TLS-terminating load balancer only; it warns at start. */
  enabled: z.boolean().default(true),
  certFile: z.string().default("certs/server.crt"),
  keyFile: z.string().default("certs/server.key"),
  clientCerts: clientCerts.prefault({}),
});

const upstream = z.strictObject({
  url: url.default("http://127.0.0.1:8201"),
  /** The forwarding engine: both pass one conformance suite (test/plugins/proxy); undici is the leaner (README). */
  engine: z.enum(["http-proxy", "undici"]).default("undici"),
  /** The header the backend reads tokens from: Vault and OpenBao use x-vault-token. */
  tokenHeader: headerName.default("x-vault-token"),
  timeoutMs: durationMs.default(30_000),
  maxSockets: positiveInt.default(256),
  tls: z
    .strictObject({
      caFile: z.string().optional(),
      insecureSkipVerify: z.boolean().default(false),
      pinSha256: z.array(z.string().regex(/^([0-9a-f]{2}:?){31}[0-9a-f]{2}$/i, "a SHA-256 fingerprint")).default([]),
      serverName: z.string().optional(),
    })
    .prefault({}),
});

const limits = z.strictObject({
  /** Vault's own default max_request_size, so nothing that works against Vault fails through the gateway. */
  maxBodyBytes: positiveInt.default(32 * 1024 * 1024),
  maxErrorBodyBytes: positiveInt.default(64 * 1024),
  maxCapturedBodyBytes: positiveInt.default(256 * 1024),
  maxHeaderBytes: positiveInt.default(16 * 1024),
  headersTimeoutMs: durationMs.default(10_000),
  requestTimeoutMs: durationMs.default(60_000),
  keepAliveTimeoutMs: durationMs.default(5_000),
  /**
   * A TLS handshake must end within this (Node's default is 120 s, so a socket that never starts TLS lived two
   * minutes). A deadline from accept, not an idle timer: dripping a ClientHello byte by byte does not extend it.
   */
  handshakeTimeoutMs: durationMs.default(10_000),
  /** Open client connections; beyond it new ones are closed at accept. Keep it below the process's `ulimit -n`. */
  maxConnections: positiveInt.default(10_000),
  /** Requests one connection carries; the last is answered with `Connection: close` (nginx's keepalive_requests). */
  maxRequestsPerSocket: positiveInt.default(1_000),
  /** Header lines in a request head; more is 431. (maxHeaderBytes bounds them too: a line takes 4 bytes at least.) */
  maxHeadersCount: positiveInt.max(100_000).default(DEFAULT_MAX_HEADERS_COUNT),
});

const auth = z.strictObject({
  /** Headers a client may send its token in; the first three are what Nomad-, Vault- and API-style clients use. */
  tokenHeaders: z.array(headerName).min(1).default(["x-nomad-token", "x-vault-token"]),
  cookie: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "a cookie name")
    .default("token"),
  verifier: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("backend") }),
      z.strictObject({ type: z.literal("static"), file: z.string() }),
    ])
    .default({ type: "backend" }),
  /** Paths (after /v1/) reached without a token; replaces the default list when given. */
  allowList: z.array(z.string()).optional(),
  loginPaths: z.array(z.string()).optional(),
  cache: z
    .strictObject({
      max: positiveInt.default(10_000),
      negativeMax: positiveInt.default(1_000),
      positiveTtlMs: positiveInt.default(30_000),
      negativeTtlMs: positiveInt.default(5_000),
    })
    .prefault({}),
  secureCookie: z.boolean().default(true),
  /** The gateway's own origins, for the CSRF check of cookie-authenticated writes (default: the request's Host). */
  allowedOrigins: z.array(z.string()).optional(),
  /** Timeout of a token lookup at the backend. */
  lookupTimeoutMs: durationMs.default(5_000),
});

const help = z.strictObject({
  /** Extra help texts, path pattern -> text; they override the built-in ones. */
  entries: z.record(z.string(), z.string()).default({}),
  cacheTtlMs: positiveInt.default(10_000),
});

const redisNode = z.strictObject({ host: z.string(), port: port });
const redis = z.strictObject({
  url: z.string().optional(),
  sentinels: z.array(redisNode).optional(),
  sentinelMaster: z.string().optional(),
  clusterNodes: z.array(redisNode).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  tls: z.boolean().optional(),
  commandTimeoutMs: durationMs.default(250),
  connectTimeoutMs: durationMs.default(1_000),
});

const rateLimitRule = z.strictObject({
  name: z.string(),
  paths: z.array(z.string()).min(1),
  key: z.enum(["token", "cert", "ip", "global"]),
  limit: positiveInt,
  periodMs: positiveInt,
  burst: positiveInt.optional(),
  fallback: z.enum(["local", "open", "closed"]).optional(),
});

/** Password guessing on login endpoints is the attack a secret-store gateway sees most: limited unless turned off. */
export const DEFAULT_RATE_LIMIT_RULES = [
  { name: "login", paths: ["auth/*/login", "auth/*/login/*"], key: "ip", limit: 20, periodMs: 60_000, burst: 10 },
] as const;

const rateLimit = z.strictObject({
  /** Without redis, the rules run in a bounded in-memory limiter of this process only. */
  redis: redis.optional(),
  /** How many gateways share the limits: in a Redis outage each one allows its share locally. */
  gatewayCount: positiveInt.default(1),
  legacyHeaders: z.boolean().default(false),
  /**
   * Token lookups at the backend (tokens the cache does not know) one client address may cause; past them, 429
   * without a lookup. false turns the count off.
   */
  tokenLookups: z
    .union([
      z.literal(false),
      z.strictObject({
        limit: positiveInt.default(60),
        periodMs: positiveInt.default(60_000),
        burst: positiveInt.optional(), // the limit, when a configuration leaves it out
      }),
    ])
    .default({ limit: 60, periodMs: 60_000, burst: 20 }),
  rules: z
    .array(rateLimitRule)
    .default(() => DEFAULT_RATE_LIMIT_RULES.map((rule) => ({ ...rule, paths: [...rule.paths] }))),
});

export const configSchema = z.strictObject({
  listen: z.strictObject({ host: z.string().default("127.0.0.1"), port: port.default(8200) }).prefault({}),
  tls: tls.prefault({}),
  upstream: upstream.prefault({}),
  /** Peers whose X-Forwarded-For is believed (e.g. your load balancer). */
  trustedProxies: z.array(ipAddress).default([]),
  limits: limits.prefault({}),
  /**
   * Key for hashing tokens and client identities (>= 32 characters). Gateways that share a Redis must share it, so
   * one token counts as one identity everywhere; random per process when absent.
   */
  secret: z.string().min(32, "at least 32 characters").optional(),
  auth: auth.prefault({}),
  help: help.prefault({}),
  rateLimit: rateLimit.prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      bufferBytes: z.number().int().min(0).max(65535).default(32768),
    })
    .prefault({}),
  /**
   * The metrics and health listener (/metrics, /healthz, /readyz). Plain HTTP and unauthenticated: keep it on
   * loopback or a private network. `serve` and `dev` start it; runGateway() only when asked.
   */
  admin: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().min(1).default("127.0.0.1"),
      port: port.default(9464),
    })
    .prefault({}),
  /** Processes `serve` runs (node:cluster); absent means one per CPU core, 1 runs no cluster at all. */
  workers: z.number().int().min(1).max(1024).optional(),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
