import { connect } from "node:tls";
import test from "ava";
import { startBackend } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { testPki } from "../helpers/tls.js";
import { sslscan, tlsFindings } from "./helpers/sslscan.js";

test("sslscan against the listener: TLS >= 1.2 and forward-secret suites only", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const scan = await sslscan(gw.port);
  t.log(scan.ciphers.map((c) => `${c.protocol} ${c.name}`).join(", "));
  t.deepEqual(tlsFindings(scan), []);
});

// sslscan's OpenSSL may be unable to try the oldest protocols at all: Node's own client tries them as well
for (const [title, options] of [
  ["TLS 1.1", { minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" }],
  [
    "TLS 1.2 with RSA key exchange (no forward secrecy)",
    { maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256:AES256-SHA" },
  ],
  ["TLS 1.2 with CBC suites", { maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384" }],
] as const) {
  test(`a client offering only ${title} is refused in the handshake`, async (t) => {
    const backend = await startBackend();
    t.teardown(() => backend.close());
    const gw = await startGateway({ upstream: { url: backend.url } });
    t.teardown(() => gw.close());
    const socket = connect({
      host: "127.0.0.1",
      port: gw.port,
      ca: testPki().ca.cert,
      servername: "localhost",
      ...options,
    });
    const outcome = await new Promise<string>((resolve) => {
      socket.once("secureConnect", () => resolve("connected"));
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    socket.destroy();
    t.regex(outcome, /_ALERT_/, "the server itself refuses, with a TLS alert");
  });
}
