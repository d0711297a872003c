import { Agent, request as httpsRequest } from "node:https";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { createGateway, type Gateway, type GatewayOptions } from "../../src/gateway.js";
import { createLogger } from "../../src/observability/log.js";
import { type Listener, startListener } from "../../src/server/listen.js";
import { serverTlsOptions } from "../../src/tls/context.js";
import { TEST_TOKEN } from "./backend.js";
import { type Reply, replyOf } from "./servers.js";
import { testPki } from "./tls.js";

export type { Reply } from "./servers.js";

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** A client certificate to present (mTLS tests). */
  clientCert?: { cert: string; key: string };
  /** Sent as X-Nomad-Token; TEST_TOKEN (which the test backend accepts) unless given, `null` sends none. */
  token?: string | null;
}

export interface TestGateway {
  readonly url: string;
  readonly port: number;
  readonly gateway: Gateway;
  readonly listener: Listener;
  /** Every log line the gateway wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** The raw log output, to search for things that must never appear in it. */
  readonly rawLog: () => string;
  request(path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

/** Starts the gateway over real TLS on 127.0.0.1, port 0, in front of `config.upstream.url`. */
export async function startGateway(
  config: ConfigInput,
  options: Omit<GatewayOptions, "logger"> = {},
): Promise<TestGateway> {
  const { ca, server } = testPki();
  const lines: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } });
  const parsed = parseConfig({ ...config, listen: { host: "127.0.0.1", port: 0 } });
  const gateway = await createGateway(parsed, { ...options, logger });
  const listener = await startListener(gateway.handler, {
    host: "127.0.0.1",
    port: 0,
    // client certificates, when a test turns them on, must chain to the test CA
    tls: serverTlsOptions(
      { cert: server.cert, key: server.key, ca: ca.cert },
      { clientCerts: parsed.tls.clientCerts.mode, refuseAtHandshake: parsed.tls.clientCerts.refuseAtHandshake },
    ),
    limits: parsed.limits,
    logger,
  });
  const agent = new Agent({ ca: ca.cert, keepAlive: false });
  return {
    url: listener.url,
    port: listener.port,
    gateway,
    listener,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLog: () => lines.join(""),
    request: (path, requestOptions = {}) => httpsGet(listener.port, path, agent, requestOptions),
    async close() {
      await listener.close(100);
      await gateway.close();
      agent.destroy();
    },
  };
}

function httpsGet(port: number, path: string, agent: Agent, options: RequestOptions): Promise<Reply> {
  const headers = { ...options.headers };
  const token = options.token === undefined ? TEST_TOKEN : options.token;
  if (token !== null) headers["x-nomad-token"] = token;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers,
        servername: "localhost",
        ...(options.clientCert === undefined
          ? { agent }
          : { ...options.clientCert, ca: agent.options.ca, agent: false }),
      },
      (res) => void replyOf(res).then(resolve, reject),
    );
    req.on("error", reject);
    req.end(options.body);
  });
}
