// TLS configuration check (issue 5): `npm run hardening:tls`. Runs `portcullis serve` with its real TLS settings
// on 127.0.0.1 and scans it with Debian's sslscan: only TLS >= 1.2 and forward-secret suites may be offered.
import { spawnServe } from "../../test/hardening/helpers/cli-gateway.js";
import { sslscan, tlsFindings } from "../../test/hardening/helpers/sslscan.js";
import { startBackend } from "../../test/helpers/backend.js";
import { Report } from "./report.js";

const report = new Report("TLS: sslscan against portcullis serve");
const backend = await startBackend();
const gw = await spawnServe({ upstream: { url: backend.url } });
try {
  const scan = await sslscan(gw.port);
  for (const [protocol, enabled] of Object.entries(scan.protocols))
    report.line(protocol, enabled ? "enabled" : "disabled");
  for (const { protocol, name } of scan.ciphers) report.line(`  ${protocol}`, name);
  const findings = tlsFindings(scan);
  report.check("protocols below TLS 1.2 or suites without forward secrecy", findings.length, (n) => n === 0);
  report.details(findings);
} finally {
  await gw.stop();
  await backend.close();
}
report.finish();
