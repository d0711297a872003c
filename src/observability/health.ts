import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { type AgentOptions, request as httpsRequest } from "node:https";
import { Gauge, type Registry } from "prom-client";
import { compact } from "../config/compact.js";
import type { Config } from "../config/schema.js";
import { createRedisClient, type RedisClient, whenReady } from "../ratelimit/index.js";
import { parseCertificates } from "../tls/check.js";
import { upstreamTls } from "../tls/upstream.js";

/** One readiness check's outcome; the extra fields say what was seen (a status, a reason), never a secret. */
export interface CheckResult {
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

export type ReadinessCheck = () => Promise<CheckResult>;

export interface ReadinessReport {
  readonly ready: boolean;
  /** The names of the checks that failed. */
  readonly notReady: string[];
  readonly checks: Record<string, CheckResult>;
}

export interface Readiness {
  /** Runs every check (at most once per `cacheMs`: probes and scrapes share one result). */
  report(): Promise<ReadinessReport>;
  /** Adds portcullis_ready and portcullis_<check>_up gauges, updated at scrape time. */
  registerMetrics(registry: Registry): void;
  close(): Promise<void>;
}

/**
 * The backend is reachable when GET /v1/sys/health gets any HTTP answer. Vault answers it with 200, 429 (standby),
 * 472/473 (DR/performance standby), 501 (not initialized) or 503 (sealed): all mean the backend is there and
 * answering for itself, and the gateway passes each answer on faithfully, so none makes the gateway unready; the
 * status is reported. Only a refused, reset or silent connection, or a TLS failure, counts as unreachable.
 */
export function backendCheck(upstream: URL, tls: AgentOptions, timeoutMs = 2_000): ReadinessCheck {
  const target = new URL("/v1/sys/health", upstream);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return () =>
    new Promise((resolve) => {
      const req = send(target, { method: "GET", agent: false, timeout: timeoutMs, ...tls }, (res) => {
        res.resume();
        resolve({ ok: true, status: res.statusCode });
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
      req.on("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, error: error.code ?? error.message }));
      req.end();
    });
}

/** Redis answers PING within the client's command timeout. */
export function redisCheck(client: RedisClient): ReadinessCheck {
  return async () => {
    try {
      await client.ping();
      return { ok: true };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };
}

/** The certificate (PEM, leaf first) is within its validity window now; reports its expiry. */
export function certificateCheck(pem: () => Promise<string | undefined> | string | undefined): ReadinessCheck {
  return async () => {
    try {
      const text = await pem();
      if (text === undefined) return { ok: false, error: "no certificate loaded" };
      const [leaf] = parseCertificates(text, "certificate");
      if (leaf === undefined) return { ok: false, error: "no certificate loaded" };
      const now = Date.now();
      const notAfter = new Date(leaf.validTo);
      if (now < new Date(leaf.validFrom).getTime()) return { ok: false, error: "not yet valid", notAfter };
      if (now > notAfter.getTime()) return { ok: false, error: "expired", notAfter };
      return { ok: true, notAfter };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };
}

/** Combines named checks; runs them together and caches the report for `cacheMs` (default 1 s). */
export function readiness(
  checks: Record<string, ReadinessCheck>,
  options: { cacheMs?: number; close?: () => Promise<void> } = {},
): Readiness {
  const cacheMs = options.cacheMs ?? 1_000;
  let last: { at: number; report: Promise<ReadinessReport> } | undefined;
  const run = async (): Promise<ReadinessReport> => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => (checks[name] as ReadinessCheck)()));
    const entries = names.map((name, i) => [name, results[i] as CheckResult] as const);
    const notReady = entries.filter(([, result]) => !result.ok).map(([name]) => name);
    return { ready: notReady.length === 0, notReady, checks: Object.fromEntries(entries) };
  };
  const report = (): Promise<ReadinessReport> => {
    const now = performance.now();
    if (last === undefined || now - last.at >= cacheMs) last = { at: now, report: run() };
    return last.report;
  };
  return {
    report,
    registerMetrics(registry) {
      new Gauge({
        name: "portcullis_ready",
        help: "1 when /readyz answers 200: backend reachable, Redis (when configured) answering, certificate valid",
        registers: [registry],
        async collect() {
          this.set((await report()).ready ? 1 : 0);
        },
      });
      for (const name of Object.keys(checks)) {
        new Gauge({
          name: `portcullis_${name}_up`,
          help: `1 when the ${name} readiness check passes`,
          registers: [registry],
          async collect() {
            this.set((await report()).checks[name]?.ok === true ? 1 : 0);
          },
        });
      }
    },
    close: options.close ?? (() => Promise.resolve()),
  };
}

/** The report of a process that is shutting down: not ready, whatever its checks say. */
export function withDraining(report: ReadinessReport): ReadinessReport {
  return {
    ready: false,
    notReady: ["draining", ...report.notReady],
    checks: { ...report.checks, draining: { ok: false } },
  };
}

export interface GatewayReadinessOptions {
  /** The served certificate's PEM; default: the configured certFile as it is on disk now. */
  certificate?: () => string | undefined;
  /** More checks (the cluster primary adds "workers"). */
  extra?: Record<string, ReadinessCheck>;
}

/** The checks of /readyz for a configuration: backend, Redis when configured, certificate when TLS is on. */
export async function gatewayReadiness(config: Config, options: GatewayReadinessOptions = {}): Promise<Readiness> {
  const upstream = new URL(config.upstream.url);
  const tls = upstream.protocol === "https:" ? (await upstreamTls(compact(config.upstream.tls))).agentOptions : {};
  const checks: Record<string, ReadinessCheck> = {
    backend: backendCheck(upstream, tls, Math.min(2_000, config.upstream.timeoutMs)),
  };
  let redis: RedisClient | undefined;
  const redisConfig = config.rateLimit.redis;
  if (redisConfig !== undefined) {
    // a connection of its own: a probe must not queue behind, or be mistaken for, the limiter's traffic
    redis = createRedisClient({ ...compact(redisConfig), onError: () => {} });
    await whenReady(redis, redisConfig.connectTimeoutMs);
    checks.redis = redisCheck(redis);
  }
  if (config.tls.enabled) {
    const { certFile } = config.tls;
    checks.certificate = certificateCheck(options.certificate ?? (() => readFile(certFile, "utf8")));
  }
  Object.assign(checks, options.extra);
  const client = redis;
  return readiness(checks, {
    close: async () => {
      client?.disconnect();
    },
  });
}
