import { parseConfig } from "../../../src/config/load.js";
import type { ConfigInput } from "../../../src/config/schema.js";
import { createGateway } from "../../../src/gateway.js";
import { createLogger } from "../../../src/observability/log.js";
import { type Listener, startListener } from "../../../src/server/listen.js";
import { serverTlsOptions } from "../../../src/tls/context.js";
import { testPki } from "../../helpers/tls.js";

export interface HardenedGateway {
  readonly port: number;
  readonly listener: Listener;
  /** Everything the gateway logged, as one string (to look for what must never be there). */
  rawLog(): string;
  close(drainMs?: number): Promise<void>;
}

/** Like test/helpers/gateway.ts, with the listener started on its own (its limits come from `config.limits`). */
export async function startHardenedGateway(config: ConfigInput): Promise<HardenedGateway> {
  const { server } = testPki();
  const lines: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } });
  const parsed = parseConfig({ ...config, listen: { host: "127.0.0.1", port: 0 } });
  const gateway = await createGateway(parsed, { logger });
  const listener = await startListener(gateway.handler, {
    host: "127.0.0.1",
    port: 0,
    tls: serverTlsOptions({ cert: server.cert, key: server.key }, { clientCerts: "off" }),
    limits: parsed.limits,
    logger,
  });
  return {
    port: listener.port,
    listener,
    rawLog: () => lines.join(""),
    async close(drainMs = 100) {
      await listener.close(drainMs);
      await gateway.close();
    },
  };
}
