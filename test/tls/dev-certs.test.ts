import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import test, { type ExecutionContext } from "ava";
import { DEV_CLIENT_NAME, ensureDevCerts, issueCertificate } from "../../src/tls/dev-certs.js";
import { closeServer, listen } from "../helpers/servers.js";
import { handshake, tempDir, testPki } from "../helpers/tls.js";

const DAY_MS = 86_400_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

async function tlsServer(t: ExecutionContext, host = "127.0.0.1"): Promise<number> {
  const { server } = testPki();
  const srv: Server = createServer({ cert: server.cert, key: server.key }, (socket) => socket.end("hi"));
  const port = await listen(srv, host);
  t.teardown(() => closeServer(srv));
  return port;
}

test("the dev CA is a CA and signs server and client certificates with SHA-256 and the right usages", (t) => {
  const { ca, server, client } = testPki();
  const caCert = new X509Certificate(ca.cert);
  const serverCert = new X509Certificate(server.cert);
  const clientCert = new X509Certificate(client.cert);
  t.true(caCert.ca);
  t.false(serverCert.ca);
  for (const leaf of [serverCert, clientCert]) {
    t.true(leaf.checkIssued(caCert));
    t.true(leaf.verify(caCert.publicKey));
  }
  t.deepEqual(serverCert.keyUsage, [SERVER_AUTH]);
  t.deepEqual(clientCert.keyUsage, [CLIENT_AUTH]);
  t.is(serverCert.subjectAltName, "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  t.regex(clientCert.subject, new RegExp(`CN=${DEV_CLIENT_NAME}`));
  t.not(serverCert.serialNumber, clientCert.serialNumber);
  // node prints the signature algorithm nowhere else: the legacy object's fingerprint is not it, so read the DER
  t.true(serverCert.raw.includes(Buffer.from("2a864886f70d01010b", "hex")), "sha256WithRSAEncryption OID");
});

for (const [label, options] of [
  ["localhost (by SNI name)", { servername: "localhost" }],
  ["127.0.0.1", {}],
] as const) {
  test(`the dev server certificate verifies against the dev CA for ${label} in a real handshake`, async (t) => {
    const port = await tlsServer(t);
    const socket = await handshake(port, { ca: testPki().ca.cert, ...options });
    t.true(socket.authorized);
    socket.destroy();
  });
}

test("the dev server certificate verifies against the dev CA for ::1 in a real handshake", async (t) => {
  let port: number;
  try {
    port = await tlsServer(t, "::1");
  } catch {
    t.log("no IPv6 loopback here: covered by the SAN assertion only");
    t.pass();
    return;
  }
  const socket = await handshake(port, { host: "::1", ca: testPki().ca.cert });
  t.true(socket.authorized);
  socket.destroy();
});

test("a handshake naming a host the certificate does not cover is refused", async (t) => {
  const port = await tlsServer(t);
  await t.throwsAsync(handshake(port, { ca: testPki().ca.cert, servername: "example.com" }), {
    code: "ERR_TLS_CERT_ALTNAME_INVALID",
  });
});

test("ensureDevCerts writes the six files, private keys 0600", async (t) => {
  const dir = `${await tempDir(t)}/certs`;
  const files = await ensureDevCerts(dir);
  t.true(files.created);
  for (const pair of [files.ca, files.server, files.client]) {
    t.is((await stat(pair.key)).mode & 0o777, 0o600);
    t.is((await stat(pair.cert)).mode & 0o777, 0o644);
    new X509Certificate(await readFile(pair.cert)); // parses
  }
  t.deepEqual(files.server, { cert: `${dir}/server.crt`, key: `${dir}/server.key` });
  const before = await snapshot(dir);
  const again = await ensureDevCerts(dir);
  t.false(again.created, "the second call reuses what the first wrote");
  t.deepEqual(await snapshot(dir), before);
});

/** The shared test PKI written as a dev certs directory: fresh key generation costs seconds on a busy machine. */
async function seeded(t: ExecutionContext): Promise<string> {
  const dir = await tempDir(t);
  for (const [name, pair] of Object.entries({ ca: testPki().ca, server: testPki().server, client: testPki().client })) {
    await writeFile(join(dir, `${name}.crt`), pair.cert);
    await writeFile(join(dir, `${name}.key`), pair.key, { mode: 0o600 });
  }
  return dir;
}

test("ensureDevCerts reuses valid files on the next call and leaves them untouched", async (t) => {
  const dir = await seeded(t);
  const before = await snapshot(dir);
  const second = await ensureDevCerts(dir);
  t.false(second.created);
  t.is(second.reason, undefined);
  t.deepEqual(await snapshot(dir), before);
});

test("ensureDevCerts reissues an expired server certificate from the same CA", async (t) => {
  const dir = await seeded(t);
  const { ca } = testPki();
  const expired = issueCertificate(ca, {
    commonName: "localhost",
    usage: "server",
    hosts: ["localhost", "127.0.0.1", "::1"],
    notBefore: new Date(Date.now() - 10 * DAY_MS),
    notAfter: new Date(Date.now() - DAY_MS),
  });
  await writeFile(join(dir, "server.crt"), expired.cert);
  await writeFile(join(dir, "server.key"), expired.key);
  const files = await ensureDevCerts(dir);
  t.true(files.created);
  t.regex(files.reason ?? "", /server\.crt: expired on/);
  const renewed = new X509Certificate(await readFile(files.server.cert));
  t.true(new Date(renewed.validTo).getTime() > Date.now());
  t.true(renewed.checkIssued(new X509Certificate(ca.cert)));
  t.is(await readFile(files.ca.cert, "utf8"), ca.cert, "the CA a browser may trust is kept");
  t.is(await readFile(files.client.cert, "utf8"), testPki().client.cert, "the valid client certificate is kept");
  t.is((await stat(files.server.key)).mode & 0o777, 0o600);
});

test("ensureDevCerts regenerates everything when the CA key does not match its certificate", async (t) => {
  const dir = await seeded(t);
  const before = await snapshot(dir);
  await writeFile(join(dir, "ca.key"), testPki().other.ca.key);
  const files = await ensureDevCerts(dir);
  t.regex(files.reason ?? "", /ca\.key: private key does not match/);
  const after = await snapshot(dir);
  t.not(after.caCert, before.caCert);
  t.not(after.serverCert, before.serverCert, "leaves of the old CA are reissued");
  const caCert = new X509Certificate(after.caCert);
  t.true(new X509Certificate(after.serverCert).checkIssued(caCert));
  t.true(new X509Certificate(after.clientCert).checkIssued(caCert));
});

test("ensureDevCerts regenerates a missing client key, and only the client pair", async (t) => {
  const dir = await seeded(t);
  await rm(join(dir, "client.key"));
  const files = await ensureDevCerts(dir);
  t.regex(files.reason ?? "", /client\.key: cannot be read \(ENOENT\)/);
  t.is(await readFile(files.server.cert, "utf8"), testPki().server.cert);
  const client = new X509Certificate(await readFile(files.client.cert));
  t.true(client.checkPrivateKey(createPrivateKey(await readFile(files.client.key))));
  t.is((await stat(files.client.key)).mode & 0o777, 0o600);
});

async function snapshot(dir: string) {
  const names = ["ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"];
  const read = (name: string) => readFile(join(dir, name), "utf8");
  return {
    caCert: await read("ca.crt"),
    serverCert: await read("server.crt"),
    clientCert: await read("client.crt"),
    all: await Promise.all(names.map(read)),
    mtimes: await Promise.all(names.map(async (name) => (await stat(join(dir, name))).mtimeMs)),
  };
}
