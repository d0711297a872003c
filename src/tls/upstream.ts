import type { AgentOptions } from "node:https";
import { isIP } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { ConfigError } from "../errors/gateway-error.js";
import { parseCertificates, readPem } from "./check.js";

export interface UpstreamTlsConfig {
  /** CA bundle that replaces the system store for this upstream. */
  caFile?: string;
  /** Accept any certificate. For development only: the caller logs the returned warning. */
  insecureSkipVerify?: boolean;
  /** SHA-256 fingerprints of the upstream's leaf certificate (hex, colons optional); any one must match. */
  pinSha256?: readonly string[];
  /** Name sent as SNI and checked against the certificate, when it differs from the upstream URL's host. */
  serverName?: string;
}

export type UpstreamAgentTls = Pick<
  AgentOptions,
  "ca" | "rejectUnauthorized" | "checkServerIdentity" | "servername" | "minVersion"
>;

export interface UpstreamTls {
  /** Spread into `new https.Agent({ keepAlive: true, ...agentOptions })`. */
  agentOptions: UpstreamAgentTls;
  /** Set when verification is off; the caller logs it at start. */
  warning: string | undefined;
}

const PIN = /^[0-9A-F]{64}$/;

/**
 * TLS options for an https:// upstream agent: the system store or caFile, optional SNI name, optional leaf pins.
 * @example
 * const { agentOptions, warning } = await upstreamTls({ caFile: "vault-ca.pem", pinSha256: ["ab:cd:..."] });
 */
export async function upstreamTls(config: UpstreamTlsConfig): Promise<UpstreamTls> {
  const insecure = config.insecureSkipVerify === true;
  const pins = (config.pinSha256 ?? []).map((pin, i) => normalizePin(pin, `upstream.tls.pinSha256[${i}]`));
  if (insecure && pins.length > 0) {
    // Node runs checkServerIdentity only on a chain that verified, so pins would silently never be checked
    throw new ConfigError(
      "upstream.tls.pinSha256 cannot be combined with insecureSkipVerify: put the upstream's certificate in caFile",
    );
  }
  if (config.serverName !== undefined && (config.serverName === "" || isIP(config.serverName) !== 0)) {
    throw new ConfigError("upstream.tls.serverName must be a DNS name (SNI carries no IP addresses)");
  }
  const options: UpstreamAgentTls = { minVersion: "TLSv1.2", rejectUnauthorized: !insecure };
  if (config.caFile !== undefined) {
    const ca = await readPem(config.caFile);
    parseCertificates(ca, config.caFile);
    options.ca = ca;
  }
  if (config.serverName !== undefined) options.servername = config.serverName;
  if (pins.length > 0) options.checkServerIdentity = pinnedIdentityCheck(pins);
  const warning = insecure
    ? "upstream TLS verification is off (insecureSkipVerify): anyone on the path can read and change the traffic"
    : undefined;
  return { agentOptions: options, warning };
}

/** Accepts "AB:CD:..." (as openssl and Node print it) or plain hex; returns upper-case hex without colons. */
export function normalizePin(pin: string, key: string): string {
  const hex = pin.replaceAll(":", "").trim().toUpperCase();
  if (!PIN.test(hex)) throw new ConfigError(`${key} must be a SHA-256 fingerprint: 64 hex digits, colons optional`);
  return hex;
}

function pinnedIdentityCheck(pins: readonly string[]): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    // the pin narrows the default check, it never replaces it: the name must still match
    const error = checkServerIdentity(host, cert);
    if (error !== undefined) return error;
    const presented = cert.fingerprint256.replaceAll(":", "").toUpperCase();
    if (pins.includes(presented)) return undefined;
    return Object.assign(
      new Error(`upstream certificate for ${host} does not match a pinned SHA-256 (got ${presented})`),
      {
        code: "ERR_PORTCULLIS_PIN_MISMATCH",
      },
    );
  };
}
