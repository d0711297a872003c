import { resolve } from "node:path";
import { parseConfig } from "../config/load.js";
import { startDevStore } from "../devstore/index.js";
import { createLogger } from "../observability/log.js";
import { runGateway } from "../server/run.js";
import { ensureDevCerts } from "../tls/dev-certs.js";
import { handleSignals } from "./signals.js";

export interface DevOptions {
  host: string;
  port: number;
  certsDir: string;
  /** Keep the dev store's data in this file across restarts. */
  dataFile?: string;
  logLevel: string;
  /** The admin listener (/metrics /healthz /readyz); false for none. Default 127.0.0.1:9464. */
  admin?: { host?: string; port: number } | false;
}

/** `portcullis dev`: dev certificates, the embedded secret store and the gateway in front of it, on loopback. */
export async function runDev(options: DevOptions): Promise<void> {
  const logger = createLogger({ level: options.logLevel });
  const certs = await ensureDevCerts(options.certsDir);
  if (certs.created) logger.info({ dir: options.certsDir, reason: certs.reason }, "development certificates written");
  const store = await startDevStore({
    host: "127.0.0.1",
    port: 0,
    ...(options.dataFile === undefined ? {} : { persistPath: options.dataFile }),
  });
  const config = parseConfig({
    listen: { host: options.host, port: options.port },
    tls: { certFile: certs.server.cert, keyFile: certs.server.key },
    upstream: { url: store.url },
    log: { level: options.logLevel },
    admin:
      options.admin === false
        ? { enabled: false }
        : { enabled: true, host: options.admin?.host ?? "127.0.0.1", port: options.admin?.port ?? 9464 },
  });
  const running = await runGateway(config, { logger, admin: true });
  handleSignals(
    logger,
    async () => {
      await running.stop(5_000);
      await store.close();
    },
    () => running.reloadTls(),
  );
  const ca = resolve(certs.ca.cert);
  process.stdout.write(
    [
      "",
      `Portcullis is up: ${running.listener.url}  ->  embedded dev store ${store.url}`,
      `  CA certificate:  ${ca}`,
      ...(running.admin === undefined ? [] : [`  admin:           ${running.admin.url}/metrics  /healthz  /readyz`]),
      `  root token:      ${store.rootToken}   (development only: it changes on every start${options.dataFile ? " unless kept in the data file" : ""})`,
      "",
      "Try:",
      `  curl --cacert ${ca} -H "X-Nomad-Token: ${store.rootToken}" -H "Content-Type: application/json" -X POST -d '{"value":"bar"}' ${running.listener.url}/v1/secret/baz`,
      `  curl --cacert ${ca} -H "X-Nomad-Token: ${store.rootToken}" ${running.listener.url}/v1/secret/baz`,
      "",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}
