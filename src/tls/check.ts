import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { ConfigError } from "../errors/gateway-error.js";

// Inspection uses node:crypto (OpenSSL) only: node-forge has had a run of ASN.1 and signature parsing CVEs, so it
// never reads a certificate here, it only makes them (dev-certs.ts).

/** Expiry closer than this many days earns a warning at start and on reload. */
export const EXPIRY_WARNING_DAYS = 30;

const DAY_MS = 86_400_000;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Listen addresses that accept every interface: no single name to hold the certificate against. */
const WILDCARD_HOSTS = new Set(["", "0.0.0.0", "::", "[::]"]);

/** A certificate or key that cannot serve: the message names the file and the problem. */
export class CertificateError extends ConfigError {
  override name = "CertificateError";
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${problem}`, options);
  }
}

export interface KeyPairInput {
  certFile: string;
  keyFile: string;
  /** The PEM text of certFile: the leaf first, then any intermediates. */
  cert: string;
  /** The PEM text of keyFile. */
  key: string;
  /** Names or addresses the certificate must cover (e.g. the listen host); wildcard addresses are skipped. */
  hosts?: readonly string[];
  /** When given, the leaf must be issued and signed by this certificate (or by the chain's last intermediate). */
  issuer?: X509Certificate;
  now?: Date;
  warnDays?: number;
}

export interface KeyPairCheck {
  leaf: X509Certificate;
  chain: X509Certificate[];
  notAfter: Date;
  /** Problems that do not stop the server yet (expiry soon), for the caller to log. */
  warnings: string[];
}

/** Checks a certificate chain and its key: parse, key match, validity window, host coverage, issuer. */
export function checkKeyPair(input: KeyPairInput): KeyPairCheck {
  const now = input.now ?? new Date();
  const chain = parseCertificates(input.cert, input.certFile);
  const [leaf] = chain as [X509Certificate, ...X509Certificate[]];
  const key = parsePrivateKey(input.key, input.keyFile);
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateError(input.keyFile, `private key does not match the certificate in ${input.certFile}`);
  }
  const warnings = chain.flatMap((cert, i) => checkValidity(cert, chainLabel(input.certFile, i), now, input.warnDays));
  for (const [i, cert] of chain.entries()) {
    const next = chain[i + 1];
    if (next !== undefined && !issuedBy(cert, next)) {
      throw new CertificateError(
        input.certFile,
        `certificate ${i + 1} is not issued by certificate ${i + 2}: bad order`,
      );
    }
  }
  for (const host of input.hosts ?? []) checkCovers(leaf, host, input.certFile);
  if (input.issuer !== undefined && !issuedBy(chain[chain.length - 1] ?? leaf, input.issuer)) {
    throw new CertificateError(input.certFile, `not issued by the CA ${oneLine(input.issuer.subject)}`);
  }
  return { leaf, chain, notAfter: validTo(leaf), warnings };
}

/** Parses every PEM certificate in a file (a chain or a CA bundle); none, or a broken one, is an error. */
export function parseCertificates(pem: string, file: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new CertificateError(file, "contains no PEM certificate");
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new CertificateError(file, `certificate ${i + 1} cannot be parsed`, { cause: error });
    }
  });
}

/** Errors when the certificate is expired or not yet valid; returns a warning when it expires soon. */
export function checkValidity(
  cert: X509Certificate,
  file: string,
  now: Date,
  warnDays = EXPIRY_WARNING_DAYS,
): string[] {
  const notBefore = new Date(cert.validFrom);
  const notAfter = validTo(cert);
  if (now < notBefore) throw new CertificateError(file, `not valid until ${notBefore.toISOString()}`);
  if (now > notAfter) throw new CertificateError(file, `expired on ${notAfter.toISOString()}`);
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  return daysLeft < warnDays ? [`${file}: expires in ${daysLeft} days, on ${notAfter.toISOString()}`] : [];
}

/** Errors unless the certificate's SAN covers the host; wildcard listen addresses are not checked. */
export function checkCovers(cert: X509Certificate, host: string, file: string): void {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (WILDCARD_HOSTS.has(bare)) return;
  const covered = isIP(bare) === 0 ? cert.checkHost(bare) !== undefined : cert.checkIP(bare) !== undefined;
  if (!covered) {
    throw new CertificateError(file, `does not cover "${bare}" (subjectAltName: ${cert.subjectAltName ?? "none"})`);
  }
}

/** Seconds until the first certificate in the PEM expires (negative once expired), for an expiry gauge. */
export function secondsUntilExpiry(certPem: string, now: Date = new Date()): number {
  const [leaf] = parseCertificates(certPem, "certificate");
  return Math.floor((validTo(leaf as X509Certificate).getTime() - now.getTime()) / 1000);
}

/** Reads a file for a check; a missing or unreadable file is a CertificateError naming it. */
export async function readPem(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
    throw new CertificateError(file, `cannot be read (${code})`, { cause: error });
  }
}

function parsePrivateKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new CertificateError(file, "is not a readable private key (PEM, unencrypted)", { cause: error });
  }
}

// checkIssued compares names and key identifiers only; verify() checks the signature itself
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function validTo(cert: X509Certificate): Date {
  return new Date(cert.validTo);
}

function chainLabel(file: string, index: number): string {
  return index === 0 ? file : `${file} (certificate ${index + 1})`;
}

function oneLine(name: string): string {
  return name.split("\n").join(", ");
}
