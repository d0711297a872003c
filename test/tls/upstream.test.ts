import { X509Certificate } from "node:crypto";
import { Agent, createServer } from "node:https";
import test, { type ExecutionContext } from "ava";
import { ConfigError } from "../../src/errors/gateway-error.js";
import { type UpstreamTlsConfig, upstreamTls } from "../../src/tls/upstream.js";
import { closeServer, listen } from "../helpers/servers.js";
import { httpsGet, testPki, writeTempFiles } from "../helpers/tls.js";

/** An https upstream serving the dev server certificate (localhost, 127.0.0.1, ::1). */
async function upstream(t: ExecutionContext): Promise<number> {
  const server = createServer(testPki().server, (_req, res) => res.end("upstream"));
  server.on("tlsClientError", () => {});
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  return port;
}

async function caFiles(t: ExecutionContext) {
  return writeTempFiles(t, { "ca.crt": testPki().ca.cert, "other-ca.crt": testPki().other.ca.cert });
}

/** One request to 127.0.0.1 through an agent built from the config, as the proxy builds its own. */
async function viaAgent(t: ExecutionContext, port: number, config: UpstreamTlsConfig) {
  const { agentOptions } = await upstreamTls(config);
  const agent = new Agent({ keepAlive: true, ...agentOptions });
  t.teardown(() => agent.destroy());
  return httpsGet(port, { agent });
}

const serverFingerprint = () => new X509Certificate(testPki().server.cert).fingerprint256;

test("an upstream whose certificate chains to the configured CA is reached", async (t) => {
  const port = await upstream(t);
  const reply = await viaAgent(t, port, { caFile: (await caFiles(t))["ca.crt"] });
  t.is(reply.body, "upstream");
});

test("without a configured CA the system store applies, and it does not know the dev CA", async (t) => {
  const port = await upstream(t);
  await t.throwsAsync(viaAgent(t, port, {}), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
});

test("an upstream certificate from another CA is refused", async (t) => {
  const port = await upstream(t);
  await t.throwsAsync(viaAgent(t, port, { caFile: (await caFiles(t))["other-ca.crt"] }), {
    code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  });
});

test("serverName is the name checked: a covered name passes, another is refused", async (t) => {
  const port = await upstream(t);
  const caFile = (await caFiles(t))["ca.crt"];
  t.is((await viaAgent(t, port, { caFile, serverName: "localhost" })).status, 200);
  await t.throwsAsync(viaAgent(t, port, { caFile, serverName: "vault.example.com" }), {
    code: "ERR_TLS_CERT_ALTNAME_INVALID",
  });
});

test("insecureSkipVerify accepts an unknown CA and returns a warning for the log", async (t) => {
  const port = await upstream(t);
  const { warning, agentOptions } = await upstreamTls({ insecureSkipVerify: true });
  t.regex(warning ?? "", /verification is off/);
  t.false(agentOptions.rejectUnauthorized);
  t.is((await viaAgent(t, port, { insecureSkipVerify: true })).body, "upstream");
});

for (const [label, pin] of [
  ["colon-separated", () => serverFingerprint()],
  ["plain lower-case hex", () => serverFingerprint().replaceAll(":", "").toLowerCase()],
] as const) {
  test(`a matching ${label} pin is accepted`, async (t) => {
    const port = await upstream(t);
    const caFile = (await caFiles(t))["ca.crt"];
    const reply = await viaAgent(t, port, { caFile, pinSha256: ["00".repeat(32), pin()] });
    t.is(reply.body, "upstream");
  });
}

test("a pin mismatch is refused even though the chain verifies", async (t) => {
  const port = await upstream(t);
  const caFile = (await caFiles(t))["ca.crt"];
  const error = await t.throwsAsync(viaAgent(t, port, { caFile, pinSha256: ["ab".repeat(32)] }), {
    code: "ERR_PORTCULLIS_PIN_MISMATCH",
  });
  t.regex(error?.message ?? "", /does not match a pinned SHA-256/);
});

test("a pin still requires the name to match", async (t) => {
  const port = await upstream(t);
  const caFile = (await caFiles(t))["ca.crt"];
  await t.throwsAsync(
    viaAgent(t, port, { caFile, serverName: "vault.example.com", pinSha256: [serverFingerprint()] }),
    {
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    },
  );
});

const badConfigs: { desc: string; config: UpstreamTlsConfig; message: RegExp }[] = [
  { desc: "a malformed pin", config: { pinSha256: ["abc"] }, message: /pinSha256\[0\] must be a SHA-256 fingerprint/ },
  {
    desc: "pins together with insecureSkipVerify",
    config: { insecureSkipVerify: true, pinSha256: ["ab".repeat(32)] },
    message: /cannot be combined with insecureSkipVerify/,
  },
  { desc: "an IP address as serverName", config: { serverName: "10.0.0.1" }, message: /must be a DNS name/ },
];

for (const row of badConfigs) {
  test(`config with ${row.desc} fails at start`, async (t) => {
    await t.throwsAsync(upstreamTls(row.config), { instanceOf: ConfigError, message: row.message });
  });
}

test("a CA file without a certificate fails at start, naming the file", async (t) => {
  const { junk } = await writeTempFiles(t, { junk: "not a certificate" });
  await t.throwsAsync(upstreamTls({ caFile: junk }), { message: `${junk}: contains no PEM certificate` });
});
