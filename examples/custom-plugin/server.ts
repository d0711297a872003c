// Embedding Portcullis as a library: the default stages plus the audit stage, in your own HTTPS server.
// Run: PORTCULLIS_UPSTREAM=http://127.0.0.1:8201 node --import tsx examples/custom-plugin/server.ts
// (certificates from `portcullis certs init`; in your project, import from "portcullis").
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createGateway, createLogger, type Gateway, insertBefore, type Logger, parseConfig } from "../../src/index.js";
import { type AuditRecord, audit } from "./audit.js";

export interface AuditedGatewayOptions {
  /** The backend, e.g. https://vault.internal:8200. */
  upstream: string;
  /** The listener's certificate and key (PEM). */
  tls: { cert: string; key: string };
  host?: string;
  port?: number;
  record(entry: AuditRecord): void;
  protectedPrefixes?: readonly string[];
  logger?: Logger;
}

export interface AuditedGateway {
  readonly gateway: Gateway;
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the gateway with the audit stage just before "proxy" and serves it over HTTPS. */
export async function startAuditedGateway(options: AuditedGatewayOptions): Promise<AuditedGateway> {
  const logger = options.logger ?? createLogger({ level: "info" });
  const config = parseConfig({ upstream: { url: options.upstream } });
  const gateway = await createGateway(config, {
    logger,
    plugins: (defaults) =>
      insertBefore(
        defaults,
        "proxy",
        audit({
          record: options.record,
          ...(options.protectedPrefixes === undefined ? {} : { protectedPrefixes: options.protectedPrefixes }),
        }),
      ),
  });
  const server = createServer({ ...options.tls, minVersion: "TLSv1.2" }, gateway.handler);
  server.listen(options.port ?? 8200, options.host ?? "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    gateway,
    server,
    url: `https://${options.host ?? "127.0.0.1"}:${port}`,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      await gateway.close();
    },
  };
}

// started directly: serve until Ctrl-C, audit records as JSON lines on stderr
if (import.meta.url === `file://${process.argv[1]}`) {
  const running = await startAuditedGateway({
    upstream: process.env.PORTCULLIS_UPSTREAM ?? "http://127.0.0.1:8201",
    tls: { cert: await readFile("certs/server.crt", "utf8"), key: await readFile("certs/server.key", "utf8") },
    protectedPrefixes: ["/v1/secret/prod/"],
    record: (entry) => process.stderr.write(`${JSON.stringify({ audit: entry })}\n`),
  });
  process.stdout.write(`audited gateway on ${running.url}\n`);
  process.once("SIGINT", () => void running.close().then(() => process.exit(0)));
}
