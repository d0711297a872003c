import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { USAGE } from "../../src/cli/usage.js";
import { startBackend } from "../helpers/backend.js";
import { tempDir } from "../helpers/tls.js";
import { startCli, writeConfig } from "./harness.js";

test("check refuses a bad configuration with exit 2 and a message naming each key, value and expectation", async (t) => {
  const dir = await tempDir(t);
  const bad = join(dir, "bad.yaml");
  await writeFile(bad, "listen: { port: 70000 }\nupstream: { url: ftp://vault }\nlisten_port: 1\n");
  const cli = startCli(t, ["check", "--config", bad]);
  t.is(await cli.exited(), 2);
  const message = cli.stderr();
  t.regex(message, /listen\.port: .*65535.* \(got 70000\)/);
  t.regex(message, /upstream\.url: an http:\/\/ or https:\/\/ URL \(got "ftp:\/\/vault"\)/);
  t.regex(message, /listen_port: unknown key/);
});

test("--help of every command says how to use it and names its options", (t) => {
  for (const command of ["main", "dev", "serve", "check", "certs"]) {
    t.regex(USAGE[command] ?? "", /^(Usage: portcullis|portcullis —)/, command);
  }
  for (const command of ["serve", "check"]) {
    t.regex(
      USAGE[command] ?? "",
      /--config FILE[\s\S]*--listen HOST:PORT[\s\S]*--upstream URL[\s\S]*--log-level[\s\S]*--workers N/,
    );
    t.regex(USAGE[command] ?? "", /PORTCULLIS_REDIS_URL[\s\S]*PORTCULLIS_SECRET/);
  }
  t.regex(USAGE.dev ?? "", /--admin HOST:PORT\|off/);
});

test("serve --workers 1: flags override the file, /healthz answers, SIGTERM drains and exits 0", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  // the file points at a port nothing listens on; --upstream and --listen must win
  const config = await writeConfig(t, {
    listen: { host: "127.0.0.1", port: 1 },
    upstream: { url: "http://127.0.0.1:1" },
    log: { level: "warn" },
  });
  const cli = startCli(t, [
    "serve",
    ...["--config", config, "--workers", "1", "--listen", "127.0.0.1:0"],
    ...["--upstream", backend.url, "--log-level", "info", "--admin", "127.0.0.1:0"],
  ]);
  const listening = await cli.waitForLog((line) => line.msg === "portcullis listening", 45_000);
  t.is(listening.upstream, backend.url);
  t.is(listening.workers, 1);
  t.regex(String(listening.url), /^https:\/\/127\.0\.0\.1:\d+$/);
  const admin = await cli.waitForLog((line) => String(line.msg).startsWith("admin listener"));
  const health = await fetch(`${String(admin.url)}/healthz`);
  t.is(health.status, 200);
  const ready = await fetch(`${String(admin.url)}/readyz`);
  t.is(ready.status, 200, await ready.text());
  process.kill(cli.pid, "SIGTERM");
  t.is(await cli.exited(), 0);
});
