import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { GatewayError } from "../errors/gateway-error.js";
import type { RequestContext } from "../pipeline/context.js";
import type { Plugin } from "../pipeline/plugin.js";
import { secondsUntilExpiry } from "../tls/check.js";
import { methodClass, RouteClasses } from "./route-class.js";

export interface GatewayMetricsOptions {
  /** Also collect the process metrics (CPU, memory, event loop lag, GC) into the registry. Default true. */
  processMetrics?: boolean;
  /** The PEM of the certificate being served, for the expiry gauge; absent (plain HTTP) leaves the gauge out. */
  certificate?: () => string | undefined;
  /** Most distinct route classes (default 100); later ones count as "other". */
  maxRouteClasses?: number;
}

export interface GatewayMetrics {
  /** This gateway's own registry: never prom-client's global one, so two gateways in a process stay apart. */
  readonly registry: Registry;
  /** The gateway's onRequestEnd hook: counts one finished request. */
  onRequestEnd(ctx: RequestContext): void;
  /** Returns the stages with the proxy observed for backend failures; reads the auth stage's cache counters. */
  instrument(plugins: readonly Plugin[]): Plugin[];
}

/** What went wrong towards the backend, as a label; undefined when it was not the backend's doing. */
export type BackendErrorKind = "unavailable" | "timeout" | "bad_response" | "interrupted" | "status_5xx";

interface RateLimitFields {
  source?: string;
  rules?: Array<{ name?: unknown; allowed?: unknown }>;
}

interface CacheStats {
  readonly stats: { readonly hits: number; readonly misses: number };
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's Prometheus metrics, fed by onRequestEnd (one call per finished request, from ctx and the facts the
 * stages left in ctx.logFields) and read at scrape time where a counter lives elsewhere (the token cache). Label
 * values are bounded: route classes (see route-class.ts), methods, status codes, rule names from the configuration.
 * @example
 * const metrics = createGatewayMetrics();
 * const gateway = await createGateway(config, { logger, onRequestEnd: metrics.onRequestEnd,
 *   plugins: (defaults) => metrics.instrument(defaults) });
 * res.end(await metrics.registry.metrics());
 */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const routes = new RouteClasses(options.maxRouteClasses);

  const requests = new Counter({
    name: "portcullis_requests_total",
    help: "Requests answered, by route class (at most two path segments: secret, auth/token, sys/health), method and status",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "portcullis_request_duration_seconds",
    help: "Time from the request's arrival to the end of its answer, by route class",
    labelNames: ["route"] as const,
    buckets: SECONDS,
    registers,
  });
  const backendDuration = new Histogram({
    name: "portcullis_backend_duration_seconds",
    help: "Time until the backend's response headers arrived",
    buckets: SECONDS,
    registers,
  });
  const backendErrors = new Counter({
    name: "portcullis_backend_errors_total",
    help: "Backend failures by kind: unavailable (refused, reset), timeout, bad_response (not HTTP, TLS), interrupted (mid-body), status_5xx (it answered >= 500); and by stage: auth (token lookup), help (capabilities), proxy (forwarding)",
    labelNames: ["kind", "stage"] as const,
    registers,
  });
  const decisions = new Counter({
    name: "portcullis_ratelimit_decisions_total",
    help: "Rate-limit decisions per rule: allowed or denied, and who decided (redis, memory, fallback, blocked)",
    labelNames: ["rule", "decision", "source"] as const,
    registers,
  });
  let limiterMode: (() => string) | undefined;
  new Gauge({
    name: "portcullis_ratelimit_fallback",
    help: "1 while rate limits are decided locally because Redis is unreachable, 0 while Redis decides",
    registers,
    aggregator: "max",
    // read when scraped, so the gauge tells the truth on a quiet gateway too, not only as of the last request
    collect() {
      this.set(limiterMode?.() === "fallback" ? 1 : 0);
    },
  });

  if (options.certificate !== undefined) {
    const certificate = options.certificate;
    new Gauge({
      name: "portcullis_tls_cert_expiry_seconds",
      help: "Seconds until the served certificate expires (negative once expired)",
      registers,
      aggregator: "min",
      collect() {
        const pem = certificate();
        if (pem !== undefined) this.set(secondsUntilExpiry(pem));
      },
    });
  }

  let cacheObserved = false;
  const observeCache = (cache: CacheStats): void => {
    if (cacheObserved) return;
    cacheObserved = true;
    for (const [name, help, read] of [
      [
        "portcullis_token_cache_hits_total",
        "Token checks answered from the verification cache",
        () => cache.stats.hits,
      ],
      [
        "portcullis_token_cache_misses_total",
        "Token checks that asked the verifier (or joined a lookup already on its way)",
        () => cache.stats.misses,
      ],
    ] as const) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          // the cache counts; a scrape copies its running total
          this.reset();
          this.inc(read());
        },
      });
    }
  };

  return {
    registry,
    onRequestEnd(ctx) {
      const route = routes.of(ctx);
      const status = ctx.res.headersSent ? String(ctx.res.statusCode) : "aborted";
      requests.inc({ route, method: methodClass(ctx.req.method), status });
      duration.observe({ route }, (performance.now() - ctx.startedAt) / 1000);
      const { backendMs, backendStatus, backendError, rateLimit } = ctx.logFields;
      if (typeof backendMs === "number") backendDuration.observe(backendMs / 1000);
      if (isBackendError(backendError)) backendErrors.inc(backendError);
      else if (typeof backendStatus === "number" && backendStatus >= 500) {
        backendErrors.inc({ kind: "status_5xx", stage: "proxy" });
      }
      if (rateLimit !== undefined) countDecisions(rateLimit as RateLimitFields);
    },
    instrument(plugins) {
      for (const plugin of plugins) {
        if (plugin.name === "auth" && hasCacheStats(plugin)) observeCache(plugin.cache);
        if (plugin.name === "limit" && hasLimiterMode(plugin)) limiterMode = () => plugin.limiter.mode();
      }
      return plugins.map((plugin) => (BACKEND_STAGES.has(plugin.name) ? observeBackend(plugin) : plugin));
    },
  };

  function countDecisions(fields: RateLimitFields): void {
    const source = typeof fields.source === "string" ? fields.source : "unknown";
    for (const rule of fields.rules ?? []) {
      if (typeof rule.name !== "string") continue;
      decisions.inc({ rule: rule.name, decision: rule.allowed === true ? "allowed" : "denied", source });
    }
  }
}

// The default stages that call the backend: auth (token lookups), help (capabilities-self) and proxy.
const BACKEND_STAGES = new Set(["auth", "help", "proxy"]);

export interface BackendErrorFields {
  readonly kind: BackendErrorKind;
  readonly stage: string;
}

function isBackendError(value: unknown): value is BackendErrorFields {
  return typeof (value as Partial<BackendErrorFields> | undefined)?.kind === "string";
}

/**
 * Wraps a stage that calls the backend: a failure it throws is classified into ctx.logFields.backendError (the
 * access log shows it, the metrics count it), then rethrown unchanged. The stage's other fields (auth's cache)
 * are kept.
 */
function hasLimiterMode(plugin: Plugin): plugin is Plugin & { limiter: { mode(): string } } {
  const limiter = (plugin as { limiter?: { mode?: unknown } }).limiter;
  return typeof limiter?.mode === "function";
}

function observeBackend(stage: Plugin): Plugin {
  return {
    ...stage,
    async handle(ctx) {
      try {
        return await stage.handle(ctx);
      } catch (error) {
        const kind = backendErrorKind(error, ctx);
        if (kind !== undefined) ctx.logFields.backendError = { kind, stage: stage.name } satisfies BackendErrorFields;
        throw error;
      }
    },
  };
}

/** Classifies what the proxy stage threw; a client that left or a body too large is nobody's backend error. */
export function backendErrorKind(error: unknown, ctx: RequestContext): BackendErrorKind | undefined {
  if (error instanceof GatewayError) {
    if (error.status === 502) return "bad_response";
    if (error.status === 503) return /in time/.test(error.publicMessage) ? "timeout" : "unavailable";
    return undefined;
  }
  // the backend answered and its body broke off on the way ("aborted", ECONNRESET); a client that hung up
  // mid-body shows as the response closing prematurely, which is not the backend's doing
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (ctx.logFields.backendStatus === undefined || code === "ERR_STREAM_PREMATURE_CLOSE") return undefined;
  return "interrupted";
}

function hasCacheStats(plugin: Plugin): plugin is Plugin & { cache: CacheStats } {
  const cache = (plugin as { cache?: Partial<CacheStats> }).cache;
  return typeof cache?.stats?.hits === "number";
}
