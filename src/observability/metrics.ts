import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type LabelValues,
  Registry,
} from "prom-client";
import { GatewayError } from "../errors/gateway-error.js";
import { factValue, type RequestContext } from "../pipeline/context.js";
import type { Plugin } from "../pipeline/plugin.js";
import { secondsUntilExpiry } from "../tls/check.js";
import { methodClass, RouteClasses } from "./route-class.js";
import { TallyHistogram } from "./tally-histogram.js";

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
  /**
   * The gateway's onStageError hook: a failure of a stage that calls the backend (auth, help, proxy) is classified
   * into ctx.logFields.backendError, which the access log shows and onRequestEnd counts.
   */
  onStageError(error: unknown, ctx: RequestContext, stage: string): void;
  /** Finds what the metrics read at scrape time (the auth stage's cache, the limiter's mode); returns the stages. */
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
/** A Redis round trip on one host takes a fraction of a millisecond: the limit's wait needs finer buckets. */
const LIMIT_WAIT_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The gateway's Prometheus metrics, fed by onRequestEnd (one call per finished request, from ctx and the facts the
 * stages left in ctx.logFields) and read at scrape time where a counter lives elsewhere (the token cache). Label
 * values are bounded: route classes (see route-class.ts), methods, status codes, rule names from the configuration.
 * @example
 * const metrics = createGatewayMetrics();
 * const gateway = await createGateway(config, { logger, onRequestEnd: metrics.onRequestEnd,
 *   onStageError: metrics.onStageError, plugins: (defaults) => metrics.instrument(defaults) });
 * res.end(await metrics.registry.metrics());
 */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const routes = new RouteClasses(options.maxRouteClasses);

  const requests = new TallyCounter({
    name: "portcullis_requests_total",
    help: "Requests answered, by route class (at most two path segments: secret, auth/token, sys/health), method and status",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const duration = new TallyHistogram({
    name: "portcullis_request_duration_seconds",
    help: "Time from the request's arrival to the end of its answer, by route class",
    labelName: "route",
    buckets: SECONDS,
    registers,
  });
  const backendDuration = new TallyHistogram({
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
  const limitWait = new TallyHistogram({
    name: "portcullis_ratelimit_wait_seconds",
    help: "Time a request waited for rate-limit decisions (its rules', and the token-lookup budget's before a lookup): with Redis, the gathering of a turn's takes and the script's round trip",
    buckets: LIMIT_WAIT_SECONDS,
    registers,
  });
  const decisions = new TallyCounter({
    name: "portcullis_ratelimit_decisions_total",
    help: "Rate-limit decisions per rule: allowed or denied, and who decided (redis, memory, fallback, blocked)",
    labelNames: ["rule", "decision", "source"] as const,
    registers,
  });
  // every limiter a stage decides with: usually the limit stage and the lookup budget share one, a Set keeps it once
  const limiters = new Set<{ mode(): string }>();
  new Gauge({
    name: "portcullis_ratelimit_fallback",
    help: "1 while rate limits (or the token-lookup budget) are decided locally because Redis is unreachable, 0 while Redis decides",
    registers,
    aggregator: "max",
    // read when scraped, so the gauge tells the truth on a quiet gateway too, not only as of the last request
    collect() {
      this.set([...limiters].some((limiter) => limiter.mode() === "fallback") ? 1 : 0);
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
      requests.add(route, methodClass(ctx.req.method), status);
      duration.observe((performance.now() - ctx.startedAt) / 1000, route);
      const { backendMs, backendStatus, backendError, rateLimit, rateLimitMs } = ctx.logFields;
      if (typeof backendMs === "number") backendDuration.observe(backendMs / 1000);
      if (typeof rateLimitMs === "number") limitWait.observe(rateLimitMs / 1000);
      if (isBackendError(backendError)) backendErrors.inc(backendError);
      else if (typeof backendStatus === "number" && backendStatus >= 500) {
        backendErrors.inc({ kind: "status_5xx", stage: "proxy" });
      }
      if (rateLimit !== undefined) countDecisions(factValue(rateLimit) as RateLimitFields);
    },
    onStageError(error, ctx, stage) {
      if (!BACKEND_STAGES.has(stage)) return;
      const kind = backendErrorKind(error, ctx);
      if (kind !== undefined) ctx.logFields.backendError = { kind, stage } satisfies BackendErrorFields;
    },
    instrument(plugins) {
      for (const plugin of plugins) {
        if (plugin.name === "auth" && hasCacheStats(plugin)) observeCache(plugin.cache);
        // any stage that decides with a limiter (the limit stage, auth's lookup budget) exposes it
        if (hasLimiterMode(plugin)) limiters.add(plugin.limiter);
      }
      return [...plugins];
    },
  };

  function countDecisions(fields: RateLimitFields): void {
    const source = typeof fields.source === "string" ? fields.source : "unknown";
    for (const rule of fields.rules ?? []) {
      if (typeof rule.name !== "string") continue;
      decisions.add(rule.name, rule.allowed === true ? "allowed" : "denied", source);
    }
  }
}

/**
 * A counter whose increments are tallied in plain maps and handed to prom-client when scraped: prom-client's inc()
 * validates and hashes the labels on every call, which profiled at a few per cent of the gateway's CPU per request.
 * `add` takes the label values in labelNames' order. The tallies sit in a tree of maps, one level per label, so an
 * increment looks up the values themselves (their hashes cached in the strings) rather than a key joined from them
 * (an array, a join and a new string to hash on every call: 1 k instructions per increment, counted).
 */
class TallyCounter<T extends string> {
  readonly #root: TallyNode = new Map();
  readonly #tallies: { labels: Record<T, string>; count: number }[] = [];
  readonly #names: readonly T[];

  constructor(configuration: CounterConfiguration<T> & { labelNames: readonly T[] }) {
    const tallies = this.#tallies;
    this.#names = configuration.labelNames;
    new Counter<T>({
      ...configuration,
      collect() {
        this.reset();
        for (const { labels, count } of tallies) this.inc(labels as LabelValues<T>, count);
      },
    });
  }

  add(...values: string[]): void {
    let node = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const value = values[i] as string;
      let next = node.get(value);
      if (next === undefined) {
        next = new Map();
        node.set(value, next);
      }
      node = next as TallyNode;
    }
    const leaf = values[last] as string;
    const tally = node.get(leaf) as { count: number } | undefined;
    if (tally !== undefined) {
      tally.count++;
      return;
    }
    const labels = {} as Record<T, string>;
    this.#names.forEach((name, i) => {
      labels[name] = values[i] ?? "";
    });
    const created = { labels, count: 1 };
    this.#tallies.push(created);
    node.set(leaf, created);
  }
}

/** One level of a TallyCounter's tree: the next label's values, or at the last label, the tallies. */
type TallyNode = Map<string, TallyNode | { count: number }>;

// The default stages that call the backend: auth (token lookups), help (capabilities-self) and proxy.
const BACKEND_STAGES = new Set(["auth", "help", "proxy"]);

export interface BackendErrorFields {
  readonly kind: BackendErrorKind;
  readonly stage: string;
}

function isBackendError(value: unknown): value is BackendErrorFields {
  return typeof (value as Partial<BackendErrorFields> | undefined)?.kind === "string";
}

function hasLimiterMode(plugin: Plugin): plugin is Plugin & { limiter: { mode(): string } } {
  const limiter = (plugin as { limiter?: { mode?: unknown } }).limiter;
  return typeof limiter?.mode === "function";
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
