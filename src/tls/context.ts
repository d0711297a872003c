import { createSecureContext, type SecureContextOptions } from "node:tls";
import { ConfigError } from "../errors/gateway-error.js";
import { CertificateError, checkKeyPair, parseCertificates, readPem } from "./check.js";

export { type TlsReloader, type WatchTlsOptions, watchTlsFiles } from "./watch.js";

export type ClientCertMode = "off" | "optional" | "required";

export interface ServerTlsConfig {
  certFile: string;
  keyFile: string;
  /** CA bundle client certificates must chain to; needed unless clientCerts is "off". */
  caFile?: string;
  /** PEM CRL(s) issued by that CA; a listed client certificate is refused as revoked. */
  crlFile?: string;
  clientCerts: ClientCertMode;
  /**
   * In "required" mode, end the handshake of a client without a trusted certificate. Off by default: the client
   * then gets a 401 from the gateway that says why, where a handshake failure only says "bad certificate".
   */
  refuseAtHandshake?: boolean;
}

export type ServerTlsOptions = SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };

export interface LoadedServerTls {
  options: ServerTlsOptions;
  /** Near expiry and the like, for the caller to log. */
  warnings: string[];
  notAfter: Date;
}

/**
 * TLS 1.2 suites with forward secrecy (ECDHE) and AEAD only, ECDSA before RSA, AES-GCM and ChaCha20-Poly1305;
 * the TLS 1.3 suites (all forward secret by design) are named too, as Node otherwise keeps OpenSSL's defaults.
 */
export const SERVER_CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** Builds the listener's TLS options from PEM text; the file names only label errors. Pure: no checks here. */
export function serverTlsOptions(
  pem: { cert: string; key: string; ca?: string; crl?: string },
  config: Pick<ServerTlsConfig, "clientCerts" | "refuseAtHandshake">,
): ServerTlsOptions {
  return {
    cert: pem.cert,
    key: pem.key,
    ...(pem.ca === undefined ? {} : { ca: pem.ca }),
    ...(pem.crl === undefined ? {} : { crl: pem.crl }),
    minVersion: "TLSv1.2",
    ciphers: SERVER_CIPHERS,
    honorCipherOrder: true,
    requestCert: config.clientCerts !== "off",
    rejectUnauthorized: config.clientCerts === "required" && config.refuseAtHandshake === true,
  };
}

/**
 * Reads and checks the listener's files (key match, validity, SAN covers the listen host, CA and CRL parse) and
 * builds its TLS options. Any failure is a CertificateError naming the file.
 * @example
 * const { options, warnings } = await loadServerTls({ certFile, keyFile, clientCerts: "off" }, { host: "localhost" });
 */
export async function loadServerTls(
  config: ServerTlsConfig,
  check: { host?: string; now?: Date } = {},
): Promise<LoadedServerTls> {
  if (config.clientCerts !== "off" && config.caFile === undefined) {
    throw new ConfigError(`tls.caFile is required when tls.clientCerts is "${config.clientCerts}"`);
  }
  if (config.crlFile !== undefined && config.caFile === undefined) {
    throw new ConfigError("tls.crlFile needs tls.caFile: a CRL is checked against the CA that issued it");
  }
  const cert = await readPem(config.certFile);
  const key = await readPem(config.keyFile);
  const { warnings, notAfter } = checkKeyPair({
    certFile: config.certFile,
    keyFile: config.keyFile,
    cert,
    key,
    hosts: check.host === undefined ? [] : [check.host],
    ...(check.now === undefined ? {} : { now: check.now }),
  });
  const ca = config.caFile === undefined ? undefined : await readPem(config.caFile);
  if (ca !== undefined && config.caFile !== undefined) parseCertificates(ca, config.caFile);
  const crl = config.crlFile === undefined ? undefined : await readCrl(config.crlFile);
  const options = serverTlsOptions(
    { cert, key, ...(ca === undefined ? {} : { ca }), ...(crl === undefined ? {} : { crl }) },
    config,
  );
  try {
    createSecureContext(options); // what OpenSSL itself would refuse, found now rather than at the first handshake
  } catch (error) {
    throw new CertificateError(config.certFile, `OpenSSL refuses this material: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { options, warnings, notAfter };
}

// node:crypto has no CRL parser; OpenSSL reads it when it is added to a context, which is parse enough here
async function readCrl(file: string): Promise<string> {
  const crl = await readPem(file);
  if (!crl.includes("-----BEGIN X509 CRL-----")) throw new CertificateError(file, "contains no PEM CRL");
  try {
    createSecureContext({ crl });
  } catch (error) {
    throw new CertificateError(file, `CRL cannot be parsed: ${(error as Error).message}`, { cause: error });
  }
  return crl;
}
