import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { stringify } from "yaml";
import { loadServeConfig } from "../../src/cli/serve.js";
import { loadConfig } from "../../src/config/load.js";
import { envOverrides, parseHostPort } from "../../src/config/overrides.js";
import { tempDir } from "../helpers/tls.js";

async function configFile(t: import("ava").ExecutionContext, data: Record<string, unknown>): Promise<string> {
  const file = join(await tempDir(t), "portcullis.yaml");
  await writeFile(file, stringify(data));
  return file;
}

const FILE = {
  listen: { host: "10.0.0.1", port: 8443 },
  upstream: { url: "https://vault.internal:8200" },
  log: { level: "warn" },
  rateLimit: { redis: { sentinels: [{ host: "s1", port: 26379 }], sentinelMaster: "mymaster" } },
};

test("host:port forms: HOST:PORT, [v6]:PORT, :PORT and PORT", (t) => {
  const cases: Array<[string, { host?: string; port: number }]> = [
    ["0.0.0.0:8200", { host: "0.0.0.0", port: 8200 }],
    ["[::1]:9464", { host: "::1", port: 9464 }],
    ["gateway.internal:443", { host: "gateway.internal", port: 443 }],
    [":8201", { port: 8201 }],
    ["0", { port: 0 }],
  ];
  for (const [text, expected] of cases) t.deepEqual(parseHostPort(text, "X"), expected, text);
  for (const bad of ["", "host", "host:", "1.2.3.4:65536", "::1:80", "host:80:81"]) {
    t.throws(() => parseHostPort(bad, "PORTCULLIS_LISTEN"), { message: /^PORTCULLIS_LISTEN: expected HOST:PORT/ }, bad);
  }
});

test("the environment overrides the file, and flags override both", async (t) => {
  const file = await configFile(t, FILE);
  const env = {
    PORTCULLIS_LISTEN: "127.0.0.1:9000",
    PORTCULLIS_UPSTREAM: "http://127.0.0.1:8201",
    PORTCULLIS_LOG_LEVEL: "debug",
    PORTCULLIS_SECRET: "s".repeat(32),
    PORTCULLIS_ADMIN: "[::1]:9999",
    PORTCULLIS_WORKERS: "3",
  };
  const fromEnv = await loadConfig({ file, env });
  t.deepEqual(fromEnv.listen, { host: "127.0.0.1", port: 9000 });
  t.is(fromEnv.upstream.url, "http://127.0.0.1:8201");
  t.is(fromEnv.log.level, "debug");
  t.is(fromEnv.secret, "s".repeat(32));
  t.deepEqual(fromEnv.admin, { enabled: true, host: "::1", port: 9999 });
  t.is(fromEnv.workers, 3);

  const flags = { listen: ":7000", upstream: "http://backend:1", logLevel: "error", workers: "1", admin: "off" };
  const fromFlags = await loadConfig({ file, env, flags });
  t.deepEqual(fromFlags.listen, { host: "127.0.0.1", port: 7000 }); // ":PORT" keeps the host from below
  t.is(fromFlags.upstream.url, "http://backend:1");
  t.is(fromFlags.log.level, "error");
  t.is(fromFlags.workers, 1);
  t.false(fromFlags.admin.enabled);

  const fileOnly = await loadConfig({ file });
  t.deepEqual(fileOnly.listen, FILE.listen);
  t.is(fileOnly.workers, undefined);
});

test("a Redis URL from the environment replaces the file's Sentinel setup; REDIS_URL is the fallback name", async (t) => {
  const file = await configFile(t, FILE);
  const generic = await loadConfig({ file, env: { REDIS_URL: "redis://127.0.0.1:6400" } });
  t.is(generic.rateLimit.redis?.url, "redis://127.0.0.1:6400");
  t.is(generic.rateLimit.redis?.sentinels, undefined);
  t.is(generic.rateLimit.redis?.sentinelMaster, undefined);
  const both = envOverrides({ REDIS_URL: "redis://a:1", PORTCULLIS_REDIS_URL: "redis://b:2" });
  t.is(both.find((o) => o.key === "rateLimit.redis.url")?.value, "redis://b:2");
  t.deepEqual(envOverrides({ PORTCULLIS_LISTEN: "", PORTCULLIS_UPSTREAM: "  " }), []);
});

test("a bad override is refused naming the variable or flag, and never prints a secret or password", async (t) => {
  const file = await configFile(t, {});
  const refused = async (options: Parameters<typeof loadConfig>[0]) =>
    (await t.throwsAsync(loadConfig(options)))?.message ?? "";
  t.regex(
    await refused({ file, env: { PORTCULLIS_WORKERS: "two" } }),
    /PORTCULLIS_WORKERS: expected a whole number \(got "two"\)/,
  );
  t.regex(await refused({ file, flags: { workers: "0" } }), /workers: .*>=1.* \(got 0\) \(set by --workers\)/);
  t.regex(await refused({ file, flags: { logLevel: "loud" } }), /log\.level: .* \(got "loud"\) \(set by --log-level\)/);
  t.regex(
    await refused({ file, env: { PORTCULLIS_UPSTREAM: "vault:8200" } }),
    /upstream\.url: an http:\/\/ or https:\/\/ URL \(got "vault:8200"\) \(set by PORTCULLIS_UPSTREAM\)/,
  );
  const secret = await refused({ file, env: { PORTCULLIS_SECRET: "hunter2-hunter2" } });
  t.regex(secret, /secret: at least 32 characters \(got a value of 15 characters\) \(set by PORTCULLIS_SECRET\)/);
  t.false(secret.includes("hunter2"));
  const password = await refused({ file: await configFile(t, { rateLimit: { redis: { url: 5, password: 7 } } }) });
  t.regex(password, /rateLimit\.redis\.password: .* \(got number\)/);
  t.false(password.includes(" 7"));
});

test("serve and check read the file from PORTCULLIS_CONFIG when --config is absent, and need one of them", async (t) => {
  const file = await configFile(t, FILE);
  const config = await loadServeConfig({ env: { PORTCULLIS_CONFIG: file } });
  t.is(config.listen.port, 8443);
  await t.throwsAsync(loadServeConfig({ env: {} }), { message: /needs --config FILE \(or PORTCULLIS_CONFIG\)/ });
});
