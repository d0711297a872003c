import type { IncomingHttpHeaders } from "node:http";
import { Agent, request } from "node:https";
import type { ExecutionContext } from "ava";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { createLogger } from "../../src/observability/log.js";
import { type RunGatewayOptions, type RunningGateway, runGateway } from "../../src/server/run.js";
import { TEST_TOKEN } from "../helpers/backend.js";
import { replyOf } from "../helpers/servers.js";
import { testPki, writeServerFiles } from "../helpers/tls.js";

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RunningTestGateway {
  readonly running: RunningGateway;
  readonly adminUrl: string;
  /** Every log line, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  rawLog(): string;
  /** A request over TLS; X-Nomad-Token TEST_TOKEN unless `token` says otherwise (null: none). */
  request(
    path: string,
    options?: { method?: string; token?: string | null; headers?: Record<string, string>; body?: string },
  ): Promise<Reply>;
  /** GET on the admin listener. */
  admin(path: string): Promise<{ status: number; body: string }>;
}

/** runGateway as `serve` runs it (admin listener included, on port 0), with the test PKI's certificate. */
export async function startRunning(
  t: ExecutionContext,
  config: ConfigInput,
  options: Omit<RunGatewayOptions, "logger"> = {},
): Promise<RunningTestGateway> {
  const files = await writeServerFiles(t);
  const lines: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } });
  const parsed = parseConfig({
    ...config,
    listen: { host: "127.0.0.1", port: 0 },
    admin: { host: "127.0.0.1", port: 0 },
    tls: { certFile: files.certFile, keyFile: files.keyFile },
  });
  const running = await runGateway(parsed, { admin: true, ...options, logger });
  t.teardown(() => running.stop(100));
  const agent = new Agent({ ca: testPki().ca.cert, keepAlive: false });
  t.teardown(() => agent.destroy());
  const adminUrl = running.admin?.url ?? "";
  return {
    running,
    adminUrl,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLog: () => lines.join(""),
    request: (path, requestOptions = {}) => {
      const headers: Record<string, string> = { ...requestOptions.headers };
      const token = requestOptions.token === undefined ? TEST_TOKEN : requestOptions.token;
      if (token !== null) headers["x-nomad-token"] = token;
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: running.listener.port,
            path,
            method: requestOptions.method ?? "GET",
            headers,
            agent,
          },
          (res) => void replyOf(res).then(resolve, reject),
        );
        req.on("error", reject);
        req.end(requestOptions.body);
      });
    },
    async admin(path) {
      const res = await fetch(`${adminUrl}${path}`);
      return { status: res.status, body: await res.text() };
    },
  };
}
