import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import { createServer } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import test, { type ExecutionContext } from "ava";
import { ConfigError } from "../../src/errors/gateway-error.js";
import type { RequestContext } from "../../src/pipeline/context.js";
import { definePlugin } from "../../src/pipeline/plugin.js";
import { runPipeline } from "../../src/pipeline/run.js";
import { clientCert } from "../../src/plugins/client-cert.js";
import { type ClientCertMode, serverTlsOptions } from "../../src/tls/context.js";
import { issueCertificate, type PemPair } from "../../src/tls/dev-certs.js";
import { closeServer, listen } from "../helpers/servers.js";
import { httpsGet, tempDir, testPki } from "../helpers/tls.js";

const run = promisify(execFile);
const DAY_MS = 86_400_000;

/** The tiny last stage: answers 200 with what the earlier stages learnt about the client. */
const echo = definePlugin({
  name: "echo",
  handle(ctx) {
    const body = JSON.stringify({
      certSubject: ctx.identity.certSubject ?? null,
      header: ctx.upstreamHeaders["client-cert"] ?? null,
    });
    ctx.res.writeHead(200, { "content-type": "application/json" }).end(body);
    return "answered";
  },
});

function contextFor(req: IncomingMessage, res: ServerResponse): RequestContext {
  return {
    id: "test",
    req,
    res,
    startedAt: performance.now(),
    secure: true,
    identity: { ip: req.socket.remoteAddress ?? "" },
    forwardedFor: req.socket.remoteAddress ?? "",
    path: req.url ?? "/",
    query: "",
    upstreamHeaders: {},
    responseHeaders: {},
    responseHooks: [],
    logFields: {},
  };
}

async function gateway(t: ExecutionContext, mode: ClientCertMode, crl?: string): Promise<number> {
  const { server, ca } = testPki();
  const options = serverTlsOptions(
    { ...server, ca: ca.cert, ...(crl === undefined ? {} : { crl }) },
    { clientCerts: mode },
  );
  const plugins = [clientCert({ mode }), echo];
  const srv = createServer(options, (req, res) => void runPipeline(plugins, contextFor(req, res)));
  const port = await listen(srv);
  t.teardown(() => closeServer(srv));
  return port;
}

const trusted = { ca: testPki().ca.cert, servername: "localhost" };
const asClient = (pair: PemPair) => ({ ...trusted, cert: pair.cert, key: pair.key });
const errors = (body: string): unknown => JSON.parse(body);

/** A client certificate from the dev CA, revoked in a CRL made by the openssl CLI (node-forge cannot make CRLs). */
async function revokedClient(t: ExecutionContext): Promise<{ pair: PemPair; crl: string } | undefined> {
  try {
    await run("openssl", ["version"]);
  } catch {
    return undefined;
  }
  const { ca } = testPki();
  const pair = issueCertificate(ca, { commonName: "revoked-client", usage: "client" });
  const dir = await tempDir(t);
  const config =
    "[ca]\ndefault_ca = dev\n[dev]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\n";
  const files = {
    "openssl.cnf": config,
    "index.txt": "",
    crlnumber: "01\n",
    "ca.crt": ca.cert,
    "ca.key": ca.key,
    "revoked.crt": pair.cert,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const common = ["-config", "openssl.cnf", "-cert", "ca.crt", "-keyfile", "ca.key"];
  await run("openssl", ["ca", ...common, "-revoke", "revoked.crt"], { cwd: dir });
  await run("openssl", ["ca", ...common, "-gencrl", "-out", "crl.pem"], { cwd: dir });
  return { pair, crl: await readFile(join(dir, "crl.pem"), "utf8") };
}

test("required: no certificate is a 401 that says a certificate is required", async (t) => {
  const reply = await httpsGet(await gateway(t, "required"), trusted);
  t.is(reply.status, 401);
  t.deepEqual(errors(reply.body), { errors: ["client certificate required"] });
});

test("required: a certificate from another CA is a 401 that says it is not trusted, and why", async (t) => {
  const reply = await httpsGet(await gateway(t, "required"), asClient(testPki().other.client));
  t.is(reply.status, 401);
  t.regex((errors(reply.body) as { errors: string[] }).errors[0] ?? "", /^client certificate is not trusted: [A-Z_]+$/);
});

test("required: an expired certificate is a 401 that says it expired", async (t) => {
  const expired = issueCertificate(testPki().ca, {
    commonName: "late",
    usage: "client",
    notBefore: new Date(Date.now() - 30 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  });
  const reply = await httpsGet(await gateway(t, "required"), asClient(expired));
  t.is(reply.status, 401);
  t.deepEqual(errors(reply.body), { errors: ["client certificate has expired"] });
});

test("required: a server certificate offered as a client certificate is refused for its purpose", async (t) => {
  const reply = await httpsGet(await gateway(t, "required"), asClient(testPki().server));
  t.is(reply.status, 401);
  t.deepEqual(errors(reply.body), { errors: ["client certificate is not valid for client authentication"] });
});

test("required: a revoked certificate is a 401 that says it was revoked; a good one still passes", async (t) => {
  const revoked = await revokedClient(t);
  if (revoked === undefined) {
    t.log("openssl CLI not installed: CRL revocation left untested");
    t.pass();
    return;
  }
  const port = await gateway(t, "required", revoked.crl);
  const refused = await httpsGet(port, asClient(revoked.pair));
  t.is(refused.status, 401);
  t.deepEqual(errors(refused.body), { errors: ["client certificate has been revoked"] });
  t.is((await httpsGet(port, asClient(testPki().client))).status, 200);
});

test("required: a trusted certificate passes with its subject and an RFC 9440 Client-Cert header", async (t) => {
  const reply = await httpsGet(await gateway(t, "required"), asClient(testPki().client));
  t.is(reply.status, 200);
  const der = new X509Certificate(testPki().client.cert).raw;
  t.deepEqual(JSON.parse(reply.body), {
    certSubject: "CN=portcullis-dev-client,O=Portcullis",
    header: `:${der.toString("base64")}:`,
  });
});

test("optional: no certificate passes, anonymous", async (t) => {
  const reply = await httpsGet(await gateway(t, "optional"), trusted);
  t.is(reply.status, 200);
  t.deepEqual(JSON.parse(reply.body), { certSubject: null, header: null });
});

test("optional: a trusted certificate is recorded", async (t) => {
  const reply = await httpsGet(await gateway(t, "optional"), asClient(testPki().client));
  t.is(JSON.parse(reply.body).certSubject, "CN=portcullis-dev-client,O=Portcullis");
});

test("optional: an untrusted certificate is still refused", async (t) => {
  const reply = await httpsGet(await gateway(t, "optional"), asClient(testPki().other.client));
  t.is(reply.status, 401);
  t.regex(reply.body, /client certificate is not trusted/);
});

test("off: a certificate is neither asked for nor recorded", async (t) => {
  const reply = await httpsGet(await gateway(t, "off"), asClient(testPki().client));
  t.deepEqual(JSON.parse(reply.body), { certSubject: null, header: null });
});

test("required over plain HTTP (no TLS socket) is a 401", async (t) => {
  const plugins = [clientCert({ mode: "required" }), echo];
  const srv = createHttpServer((req, res) => void runPipeline(plugins, contextFor(req, res)));
  const port = await listen(srv);
  t.teardown(() => closeServer(srv));
  const req = request({ host: "127.0.0.1", port });
  req.end();
  const res = await new Promise<IncomingMessage>((resolve) => req.on("response", resolve));
  res.resume();
  t.is(res.statusCode, 401);
});

test("an unknown mode fails when the plugin is built", (t) => {
  t.throws(() => clientCert({ mode: "sometimes" as ClientCertMode }), { instanceOf: ConfigError });
});
