import type { ServerTlsConfig } from "../tls/context.js";
import { compact } from "./compact.js";
import type { Config } from "./schema.js";

/** The listener's TLS settings as the tls/ module takes them. */
export function serverTlsConfig(config: Config): ServerTlsConfig {
  const { certFile, keyFile, clientCerts } = config.tls;
  return {
    certFile,
    keyFile,
    clientCerts: clientCerts.mode,
    refuseAtHandshake: clientCerts.refuseAtHandshake,
    ...compact({ caFile: clientCerts.caFile, crlFile: clientCerts.crlFile }),
  };
}
