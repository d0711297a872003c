import { X509Certificate } from "node:crypto";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CertificateError, checkKeyPair, readPem } from "./check.js";
import { createCertificateAuthority, issueCertificate, type PemPair } from "./issue.js";

export {
  type CaOptions,
  createCertificateAuthority,
  type IssueOptions,
  issueCertificate,
  type PemPair,
} from "./issue.js";

/** The names `portcullis dev` is reached by. */
export const DEV_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "::1"];
export const DEV_CLIENT_NAME = "portcullis-dev-client";

const DAY_MS = 86_400_000;
const BACKDATE_MS = 5 * 60_000;
const USAGE_OID = { server: "1.3.6.1.5.5.7.3.1", client: "1.3.6.1.5.5.7.3.2" } as const;

export interface DevPki {
  ca: PemPair;
  server: PemPair;
  client: PemPair;
}

export interface DevPkiOptions {
  /** Names and addresses the server certificate covers; defaults to localhost, 127.0.0.1 and ::1. */
  hosts?: readonly string[];
  /** Validity of the server and client certificates (default 365); the CA gets ten years or this, if longer. */
  days?: number;
  /** The issuing moment (tests move it to make expired material). */
  now?: Date;
}

export interface DevCertFiles {
  dir: string;
  ca: PemPair;
  server: PemPair;
  client: PemPair;
  /** True when any file was (re)written by this call. */
  created: boolean;
  /** Why files were (re)written, e.g. the check that failed; undefined when all were reused. */
  reason: string | undefined;
}

/** Makes a dev CA plus a server and a client certificate it signed, all in memory as PEM. */
export function createDevPki(options: DevPkiOptions = {}): DevPki {
  const ca = createCertificateAuthority(caWindow(options));
  return { ca, server: issueLeaf(ca, "server", options), client: issueLeaf(ca, "client", options) };
}

/**
 * Writes ca/server/client .crt and .key under dir (keys 0600), reusing files that still pass the startup checks;
 * leaves that fail are reissued from a good CA, and a bad CA regenerates everything.
 * @example
 * const files = await ensureDevCerts("certs"); // files.server.cert === "certs/server.crt"
 */
export async function ensureDevCerts(dir: string, options: DevPkiOptions = {}): Promise<DevCertFiles> {
  const paths = pathsIn(dir);
  const now = options.now ?? new Date();
  const problems: string[] = [];
  const caProblem = await problem(async () => {
    const { leaf, warnings } = checkKeyPair({
      certFile: paths.ca.cert,
      keyFile: paths.ca.key,
      ...(await readPair(paths.ca)),
      now,
    });
    if (!leaf.ca) throw new CertificateError(paths.ca.cert, "is not a CA certificate");
    renewSoon(warnings);
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (caProblem !== undefined) {
    problems.push(caProblem);
    await writePair(paths.ca, createCertificateAuthority(caWindow(options)));
  }
  const ca = await readPair(paths.ca);
  const issuer = new X509Certificate(ca.cert);
  for (const usage of ["server", "client"] as const) {
    const leafProblem = await problem(async () => {
      const files = { certFile: paths[usage].cert, keyFile: paths[usage].key };
      const hosts = usage === "server" ? (options.hosts ?? DEV_HOSTS) : [];
      const { leaf, warnings } = checkKeyPair({ ...files, ...(await readPair(paths[usage])), hosts, issuer, now });
      if (!leaf.keyUsage?.includes(USAGE_OID[usage])) {
        throw new CertificateError(paths[usage].cert, `lacks the ${usage} extended key usage`);
      }
      renewSoon(warnings);
    });
    if (leafProblem === undefined) continue;
    problems.push(leafProblem);
    await writePair(paths[usage], issueLeaf(ca, usage, options));
  }
  return { dir, ...paths, created: problems.length > 0, reason: problems.length > 0 ? problems.join("; ") : undefined };
}

function issueLeaf(ca: PemPair, usage: "server" | "client", options: DevPkiOptions): PemPair {
  const window = leafWindow(options);
  return usage === "server"
    ? issueCertificate(ca, { commonName: "localhost", usage, hosts: options.hosts ?? DEV_HOSTS, ...window })
    : issueCertificate(ca, { commonName: DEV_CLIENT_NAME, usage, ...window });
}

// Dev material is ours to renew: a certificate near its end is replaced now rather than warned about later.
function renewSoon(warnings: readonly string[]): void {
  const [warning] = warnings;
  if (warning !== undefined) throw new Error(warning);
}

/** Runs a check; returns why it failed (the reason to regenerate), or undefined when it passed. */
async function problem(check: () => Promise<void>): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function pathsIn(dir: string): Record<"ca" | "server" | "client", PemPair> {
  const pair = (name: string): PemPair => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return { ca: pair("ca"), server: pair("server"), client: pair("client") };
}

async function readPair(paths: PemPair): Promise<PemPair> {
  return { cert: await readPem(paths.cert), key: await readPem(paths.key) };
}

/** Writes key then certificate, each to a temp file renamed into place, so a crash never leaves half a PEM. */
async function writePair(paths: PemPair, pem: PemPair): Promise<void> {
  await writeAtomic(paths.key, pem.key, 0o600);
  await writeAtomic(paths.cert, pem.cert, 0o644);
}

async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode });
  await chmod(temp, mode); // the umask may have narrowed or a stale temp file kept another mode
  await rename(temp, file);
}

function caWindow(options: DevPkiOptions): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date();
  const days = Math.max(options.days ?? 0, 3650);
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

function leafWindow(options: DevPkiOptions): { notBefore: Date; notAfter: Date } {
  const now = options.now ?? new Date();
  const days = options.days ?? 365;
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}
