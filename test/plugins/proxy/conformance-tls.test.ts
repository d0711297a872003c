import { X509Certificate } from "node:crypto";
import { createServer } from "node:https";
import type { ExecutionContext } from "ava";
import type { ConfigInput } from "../../../src/config/schema.js";
import { TEST_TOKEN } from "../../helpers/backend.js";
import { closeServer, listen } from "../../helpers/servers.js";
import { testPki, writeTempFiles } from "../../helpers/tls.js";
import { conformance, type EngineName, gatewayFor } from "./suite.js";

/** A Vault-like https backend with the dev server certificate (localhost, 127.0.0.1), signed by the test CA. */
async function httpsBackend(t: ExecutionContext): Promise<string> {
  const server = createServer(testPki().server, (req, res) => {
    const lookup = req.url === "/v1/auth/token/lookup-self" && req.headers["x-vault-token"] === TEST_TOKEN;
    const body = JSON.stringify(lookup ? { data: { ttl: 0 } } : { data: { url: req.url, tls: true } });
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  server.on("tlsClientError", () => {}); // the refusing cases end handshakes on purpose
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  return `https://127.0.0.1:${port}`;
}

type UpstreamTlsInput = NonNullable<NonNullable<ConfigInput["upstream"]>["tls"]>;
type TlsCase = Omit<UpstreamTlsInput, "caFile"> & { ca?: "ca.crt" | "other-ca.crt" };

async function gatewayWithTls(t: ExecutionContext, engine: EngineName, { ca, ...tls }: TlsCase) {
  const files = await writeTempFiles(t, { "ca.crt": testPki().ca.cert, "other-ca.crt": testPki().other.ca.cert });
  const url = await httpsBackend(t);
  return gatewayFor(t, engine, url, {
    upstream: { tls: { ...tls, ...(ca === undefined ? {} : { caFile: files[ca] }) } },
  });
}

const NOT_VERIFIED = { errors: ["the backend's TLS certificate could not be verified"] };
// sys/health needs no token, so only the proxy stage talks to the backend in the refusing cases
const HEALTH = "/v1/sys/health";

conformance("an https backend whose certificate chains to the configured CA is reached", async (t, engine) => {
  const gw = await gatewayWithTls(t, engine, { ca: "ca.crt" });
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 200);
  t.deepEqual(JSON.parse(reply.body), { data: { url: "/v1/secret/foo", tls: true } });
});

conformance("an https backend with a certificate from another CA gives 502", async (t, engine) => {
  const gw = await gatewayWithTls(t, engine, { ca: "other-ca.crt" });
  const reply = await gw.request(HEALTH, { token: null });
  t.is(reply.status, 502);
  t.deepEqual(JSON.parse(reply.body), NOT_VERIFIED);
});

conformance("a certificate for another name than serverName gives 502", async (t, engine) => {
  const gw = await gatewayWithTls(t, engine, { ca: "ca.crt", serverName: "vault.example.com" });
  const reply = await gw.request(HEALTH, { token: null });
  t.is(reply.status, 502);
  t.deepEqual(JSON.parse(reply.body), NOT_VERIFIED);
});

conformance("a certificate that matches no pin gives 502; a matching pin is reached", async (t, engine) => {
  const refused = await gatewayWithTls(t, engine, { ca: "ca.crt", pinSha256: ["ab".repeat(32)] });
  t.deepEqual(JSON.parse((await refused.request(HEALTH, { token: null })).body), NOT_VERIFIED);
  const pin = new X509Certificate(testPki().server.cert).fingerprint256;
  const pinned = await gatewayWithTls(t, engine, { ca: "ca.crt", pinSha256: [pin] });
  t.is((await pinned.request(HEALTH, { token: null })).status, 200);
});

conformance("insecureSkipVerify reaches a backend no configured CA vouches for", async (t, engine) => {
  const gw = await gatewayWithTls(t, engine, { insecureSkipVerify: true });
  t.is((await gw.request(HEALTH, { token: null })).status, 200);
});
