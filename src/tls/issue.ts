import {
  constants,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  randomBytes,
  X509Certificate,
} from "node:crypto";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import type * as Forge from "node-forge";
import { ConfigError } from "../errors/gateway-error.js";

// node-forge is CommonJS whose typings declare no default export, and Node's named-export detection cannot see
// through its re-exports: require() is the one import that types and runs correctly.
const forge = createRequire(import.meta.url)("node-forge") as typeof Forge;

// node-forge only *builds* certificates here (the ASN.1 of the TBSCertificate). Keys and the RSA signature come from
// node:crypto (native: forge's pure-JS RSA takes ~0.4 s a signature), and nothing forge makes is trusted unread:
// every certificate is parsed back and its signature verified with node:crypto's X509Certificate.

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

export interface CaOptions {
  commonName?: string;
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssueOptions {
  commonName: string;
  usage: "server" | "client";
  /** DNS names and IP addresses for the subjectAltName (server certificates). */
  hosts?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
}

const ORGANIZATION = "Portcullis";
const RSA_BITS = 2048;
/** DER prefix of a PKCS#1 DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");
const DAY_MS = 86_400_000;
/** Backdating notBefore absorbs clock skew between the machine that issues and the one that verifies. */
const BACKDATE_MS = 5 * 60_000;
// Node prints names as "SN=value" lines; these are the short names forge can encode back
const FORGE_SHORT_NAMES = new Set(["CN", "C", "L", "ST", "O", "OU"]);

/** Creates a self-signed CA (basicConstraints CA, keyCertSign and cRLSign), valid 10 years unless told otherwise. */
export function createCertificateAuthority(options: CaOptions = {}): PemPair {
  const { privateKey, publicPem, keyPem } = newKeyPair();
  const cert = baseCertificate(publicPem, options.notBefore, options.notAfter ?? daysFromNow(3650));
  const subject = [
    { shortName: "O", value: ORGANIZATION },
    { shortName: "CN", value: options.commonName ?? "Portcullis Dev CA" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  const pem = signed(cert, privateKey);
  const self = new X509Certificate(pem);
  if (!self.verify(self.publicKey)) throw new Error("createCertificateAuthority: the CA signature does not verify");
  return { cert: pem, key: keyPem };
}

/** Issues a server (serverAuth, SAN from hosts) or client (clientAuth) certificate signed by the CA with SHA-256. */
export function issueCertificate(ca: PemPair, options: IssueOptions): PemPair {
  const caCert = new X509Certificate(ca.cert);
  const caKey = createPrivateKey(ca.key);
  if (!caCert.ca || !caCert.checkPrivateKey(caKey)) {
    throw new ConfigError("issueCertificate: the CA certificate is not a CA or does not match its key");
  }
  const { publicPem, keyPem } = newKeyPair();
  const cert = baseCertificate(publicPem, options.notBefore, options.notAfter ?? daysFromNow(365));
  cert.setSubject([
    { shortName: "O", value: ORGANIZATION },
    { shortName: "CN", value: options.commonName },
  ]);
  cert.setIssuer(forgeName(caCert.subject));
  const server = options.usage === "server";
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: server, clientAuth: !server },
    ...(options.hosts?.length ? [{ name: "subjectAltName", altNames: options.hosts.map(altName) }] : []),
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: keyIdentifier(caCert) },
  ]);
  const pem = signed(cert, caKey);
  // the issuer name was rebuilt from node's printout: prove OpenSSL links the two before anyone relies on it
  const issued = new X509Certificate(pem);
  if (!issued.checkIssued(caCert) || !issued.verify(caCert.publicKey)) {
    throw new ConfigError(`issueCertificate: cannot issue from the CA "${caCert.subject}" (unsupported name)`);
  }
  return { cert: pem, key: keyPem };
}

function newKeyPair(): { privateKey: KeyObject; publicPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: RSA_BITS });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return { privateKey, publicPem, keyPem };
}

/**
 * Signs with SHA-256 and RSA PKCS#1 v1.5 through forge's own cert.sign(key, md), which hands `key.sign` the digest
 * of the TBSCertificate: the signer below wraps it in a DigestInfo and lets OpenSSL do the RSA operation.
 */
function signed(cert: Forge.pki.Certificate, key: KeyObject): string {
  const signer = {
    sign(md: Forge.md.MessageDigest): string {
      const digest = Buffer.from(md.digest().getBytes(), "binary");
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, digest]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString("binary");
    },
  };
  cert.sign(signer as unknown as Forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function baseCertificate(publicPem: string, notBefore: Date | undefined, notAfter: Date): Forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = notBefore ?? new Date(Date.now() - BACKDATE_MS);
  cert.validity.notAfter = notAfter;
  return cert;
}

/** 128 random bits, positive and minimally encoded as DER requires (top bit clear, first byte non-zero). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

function altName(host: string): { type: number; value?: string; ip?: string } {
  return isIP(host) === 0 ? { type: 2, value: host } : { type: 7, ip: host };
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits, as forge computes the CA's own identifier. */
function keyIdentifier(caCert: X509Certificate): string {
  const der = caCert.publicKey.export({ type: "pkcs1", format: "der" });
  return createHash("sha1").update(der).digest("binary");
}

/** Turns node's multi-line RFC 2253-escaped name ("O=Portcullis\nCN=Dev CA") into forge attributes. */
function forgeName(subject: string): Forge.pki.CertificateField[] {
  return subject.split("\n").map((line) => {
    const at = line.indexOf("=");
    const shortName = line.slice(0, at);
    if (!FORGE_SHORT_NAMES.has(shortName)) {
      throw new ConfigError(`issueCertificate: cannot issue from a CA whose name has "${shortName}"`);
    }
    const value = line.slice(at + 1).replace(/\\([0-9a-fA-F]{2}|.)/g, (_, c: string) => {
      return c.length === 2 ? String.fromCharCode(Number.parseInt(c, 16)) : c;
    });
    return { shortName, value };
  });
}

function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * DAY_MS);
}
