import { isIP } from "node:net";
import { z } from "zod";

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
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
  /** The header the backend reads tokens from: Vault and OpenBao use x-vault-token. */
  tokenHeader: headerName.default("x-vault-token"),
  timeoutMs: positiveInt.default(30_000),
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
  headersTimeoutMs: positiveInt.default(10_000),
  requestTimeoutMs: positiveInt.default(60_000),
  keepAliveTimeoutMs: positiveInt.default(5_000),
});

export const configSchema = z.strictObject({
  listen: z.strictObject({ host: z.string().default("127.0.0.1"), port: port.default(8200) }).prefault({}),
  tls: tls.prefault({}),
  upstream: upstream.prefault({}),
  /** Peers whose X-Forwarded-For is believed (e.g. your load balancer). */
  trustedProxies: z.array(ipAddress).default([]),
  limits: limits.prefault({}),
  log: z
    .strictObject({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info") })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
