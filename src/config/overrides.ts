import { ConfigError } from "../errors/gateway-error.js";

/** One setting given outside the file: the dotted configuration key, its value, and where it came from. */
export interface Override {
  readonly key: string;
  readonly value: unknown;
  /** The environment variable or flag, e.g. "PORTCULLIS_LISTEN" or "--listen": error messages name it. */
  readonly source: string;
}

/** The flags `serve` and `check` take besides --config; each overrides the file and the environment. */
export interface ConfigFlags {
  listen?: string | undefined;
  upstream?: string | undefined;
  logLevel?: string | undefined;
  workers?: string | undefined;
  admin?: string | undefined;
}

/** The environment variables Portcullis reads, and what each sets (the README's configuration reference lists the same). */
export const ENV_VARS = {
  PORTCULLIS_CONFIG: "the configuration file, when --config is not given",
  PORTCULLIS_LISTEN: "listen.host and listen.port, as HOST:PORT",
  PORTCULLIS_UPSTREAM: "upstream.url",
  PORTCULLIS_REDIS_URL: "rateLimit.redis.url (replaces sentinels/clusterNodes of the file)",
  REDIS_URL: "the same, when PORTCULLIS_REDIS_URL is not set",
  PORTCULLIS_LOG_LEVEL: "log.level",
  PORTCULLIS_SECRET: "secret",
  PORTCULLIS_ADMIN: 'admin.host and admin.port as HOST:PORT, or "off" (admin.enabled: false)',
  PORTCULLIS_WORKERS: "workers",
} as const;

/** Reads the PORTCULLIS_* variables (and REDIS_URL); empty variables count as unset. */
export function envOverrides(env: NodeJS.ProcessEnv): Override[] {
  const get = (name: keyof typeof ENV_VARS): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const out: Override[] = [];
  const listen = get("PORTCULLIS_LISTEN");
  if (listen !== undefined) out.push(...hostPort("listen", listen, "PORTCULLIS_LISTEN"));
  const upstream = get("PORTCULLIS_UPSTREAM");
  if (upstream !== undefined) out.push({ key: "upstream.url", value: upstream, source: "PORTCULLIS_UPSTREAM" });
  const redisSource = get("PORTCULLIS_REDIS_URL") === undefined ? "REDIS_URL" : "PORTCULLIS_REDIS_URL";
  const redis = get(redisSource);
  if (redis !== undefined) out.push(...redisUrl(redis, redisSource));
  const level = get("PORTCULLIS_LOG_LEVEL");
  if (level !== undefined) out.push({ key: "log.level", value: level, source: "PORTCULLIS_LOG_LEVEL" });
  const secret = get("PORTCULLIS_SECRET");
  if (secret !== undefined) out.push({ key: "secret", value: secret, source: "PORTCULLIS_SECRET" });
  const admin = get("PORTCULLIS_ADMIN");
  if (admin !== undefined) out.push(...adminAddress(admin, "PORTCULLIS_ADMIN"));
  const workers = get("PORTCULLIS_WORKERS");
  if (workers !== undefined)
    out.push({ key: "workers", value: wholeNumber(workers, "PORTCULLIS_WORKERS"), source: "PORTCULLIS_WORKERS" });
  return out;
}

/** The command-line flags, which win over both the file and the environment. */
export function flagOverrides(flags: ConfigFlags): Override[] {
  const out: Override[] = [];
  if (flags.listen !== undefined) out.push(...hostPort("listen", flags.listen, "--listen"));
  if (flags.upstream !== undefined) out.push({ key: "upstream.url", value: flags.upstream, source: "--upstream" });
  if (flags.logLevel !== undefined) out.push({ key: "log.level", value: flags.logLevel, source: "--log-level" });
  if (flags.workers !== undefined) {
    out.push({ key: "workers", value: wholeNumber(flags.workers, "--workers"), source: "--workers" });
  }
  if (flags.admin !== undefined) out.push(...adminAddress(flags.admin, "--admin"));
  return out;
}

/** Writes the overrides, in order, into a copy of the file's data: a later override of a key wins. */
export function applyOverrides(data: Record<string, unknown>, overrides: readonly Override[]): Record<string, unknown> {
  const out = structuredClone(data);
  for (const { key, value } of overrides) {
    const path = key.split(".");
    const last = path.pop() as string;
    let node = out;
    for (const part of path) {
      const next = node[part];
      if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return out;
}

/** "HOST:PORT", "[v6]:PORT", ":PORT" (the host stays as configured) or "PORT". */
export function parseHostPort(text: string, source: string): { host?: string; port: number } {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (match === null || port > 65535) {
    throw new ConfigError(
      `${source}: expected HOST:PORT (e.g. 127.0.0.1:8200 or [::1]:8200) (got ${JSON.stringify(text)})`,
    );
  }
  const host = match[1]?.replace(/^\[(.*)\]$/, "$1");
  return host === undefined || host === "" ? { port } : { host, port };
}

function hostPort(section: string, text: string, source: string): Override[] {
  const { host, port } = parseHostPort(text, source);
  return [
    ...(host === undefined ? [] : [{ key: `${section}.host`, value: host, source }]),
    { key: `${section}.port`, value: port, source },
  ];
}

function adminAddress(text: string, source: string): Override[] {
  if (text === "off") return [{ key: "admin.enabled", value: false, source }];
  return [{ key: "admin.enabled", value: true, source }, ...hostPort("admin", text, source)];
}

// one way of reaching Redis at a time: a URL given here replaces a Sentinel or Cluster setup of the file
function redisUrl(url: string, source: string): Override[] {
  return [
    { key: "rateLimit.redis.url", value: url, source },
    { key: "rateLimit.redis.sentinels", value: undefined, source },
    { key: "rateLimit.redis.sentinelMaster", value: undefined, source },
    { key: "rateLimit.redis.clusterNodes", value: undefined, source },
  ];
}

function wholeNumber(text: string, source: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new ConfigError(`${source}: expected a whole number (got ${JSON.stringify(text)})`);
  }
  return Number(text);
}
