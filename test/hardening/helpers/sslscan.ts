import { execFile } from "node:child_process";

export interface TlsScan {
  /** "TLSv1.2" -> enabled, as sslscan reports it. */
  readonly protocols: Record<string, boolean>;
  readonly ciphers: ReadonlyArray<{ protocol: string; name: string }>;
  readonly raw: string;
}

/** Runs Debian's sslscan against 127.0.0.1:port (loopback only) and reads its protocol and cipher lists. */
export function sslscan(port: number): Promise<TlsScan> {
  return new Promise((resolve, reject) => {
    execFile(
      "sslscan",
      ["--no-colour", "--no-check-certificate", "--no-heartbleed", `127.0.0.1:${port}`],
      { timeout: 60_000 },
      (error, stdout) => {
        if (error) return reject(error);
        const protocols: Record<string, boolean> = {};
        for (const [, name = "", state] of stdout.matchAll(/^(SSLv[23]|TLSv1\.[0-3])\s+(enabled|disabled)$/gm)) {
          protocols[name] = state === "enabled";
        }
        const ciphers = [
          ...stdout.matchAll(/^(?:Preferred|Accepted)\s+(TLSv1\.[0-3]|SSLv[23])\s+\d+ bits\s+(\S+)/gm),
        ].map(([, protocol = "", name = ""]) => ({ protocol, name }));
        resolve({ protocols, ciphers, raw: stdout });
      },
    );
  });
}

/** What is wrong with a scan: any protocol below TLS 1.2, any TLS 1.2 suite without ephemeral key exchange. */
export function tlsFindings(scan: TlsScan): string[] {
  const findings: string[] = [];
  for (const old of ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"]) if (scan.protocols[old]) findings.push(`${old} enabled`);
  if (!scan.protocols["TLSv1.2"] && !scan.protocols["TLSv1.3"]) findings.push("no TLS 1.2 or 1.3: scan unreadable");
  if (scan.ciphers.length === 0) findings.push("no cipher suites read from the scan");
  for (const { protocol, name } of scan.ciphers) {
    if (protocol !== "TLSv1.2" && protocol !== "TLSv1.3") findings.push(`${name} offered over ${protocol}`);
    // every TLS 1.3 suite is forward secret by design; in TLS 1.2 only (EC)DHE key exchange is
    if (protocol === "TLSv1.2" && !/^(ECDHE|DHE)-/.test(name)) findings.push(`${name}: no forward secrecy`);
  }
  return findings;
}
