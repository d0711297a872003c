import { X509Certificate } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import { Agent, createServer } from "node:https";
import type { SecureContextOptions } from "node:tls";
import test, { type ExecutionContext } from "ava";
import { CertificateError } from "../../src/tls/check.js";
import { loadServerTls, type TlsReloader, watchTlsFiles } from "../../src/tls/context.js";
import { issueCertificate, type PemPair } from "../../src/tls/dev-certs.js";
import { closeServer, listen } from "../helpers/servers.js";
import { handshake, httpsGet, testPki, writeServerFiles } from "../helpers/tls.js";

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
const trusted = () => ({ ca: testPki().ca.cert, servername: "localhost" });

interface Harness {
  port: number;
  files: { certFile: string; keyFile: string };
  reloader: TlsReloader;
  reloaded: SecureContextOptions[];
  errors: unknown[];
  /** Resolves at the next successful reload (refusals are only recorded in errors). */
  nextReload(): Promise<SecureContextOptions>;
}

async function start(t: ExecutionContext): Promise<Harness> {
  const files = await writeServerFiles(t);
  const config = { certFile: files.certFile, keyFile: files.keyFile, clientCerts: "off" } as const;
  const load = async () => (await loadServerTls(config, { host: "127.0.0.1" })).options;
  const server = createServer(await load(), (_req, res) => res.end("ok"));
  server.on("tlsClientError", () => {});
  const port = await listen(server);
  const reloaded: SecureContextOptions[] = [];
  const errors: unknown[] = [];
  let waiter: ((options: SecureContextOptions) => void) | undefined;
  const reloader = watchTlsFiles(server, load, {
    files: [files.certFile, files.keyFile],
    debounceMs: 50,
    onReload: (options) => {
      reloaded.push(options);
      waiter?.(options);
    },
    onError: (error) => {
      errors.push(error);
    },
  });
  t.teardown(async () => {
    reloader.close();
    await closeServer(server);
  });
  const nextReload = () => new Promise<SecureContextOptions>((resolve) => (waiter = resolve));
  return { port, files, reloader, reloaded, errors, nextReload };
}

function newServerPair(): PemPair {
  return issueCertificate(testPki().ca, {
    commonName: "localhost",
    usage: "server",
    hosts: ["localhost", "127.0.0.1"],
  });
}

async function install(files: Harness["files"], pair: PemPair): Promise<void> {
  await writeFile(files.keyFile, pair.key);
  await writeFile(files.certFile, pair.cert);
}

test("after reload() the next handshake gets the new certificate while an open keep-alive connection still works", async (t) => {
  const h = await start(t);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ...trusted() });
  t.teardown(() => agent.destroy());
  const before = await httpsGet(h.port, { agent });
  t.is(before.peer.fingerprint256, fingerprint(testPki().server.cert));

  const fresh = newServerPair();
  await install(h.files, fresh);
  t.true(await h.reloader.reload());

  const onOldConnection = await httpsGet(h.port, { agent });
  t.true(onOldConnection.reusedSocket, "the request went over the connection opened before the reload");
  t.is(onOldConnection.status, 200);
  t.is(onOldConnection.peer.fingerprint256, fingerprint(testPki().server.cert));

  const onNewConnection = await httpsGet(h.port, trusted());
  t.is(onNewConnection.status, 200);
  t.is(onNewConnection.peer.fingerprint256, fingerprint(fresh.cert));
});

test("the reloaded context keeps the protocol floor and the cipher list", async (t) => {
  const h = await start(t);
  t.true(await h.reloader.reload());
  await t.throwsAsync(handshake(h.port, { ...trusted(), maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256" }), {
    code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
  });
  await t.throwsAsync(
    handshake(h.port, { ...trusted(), minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }),
    { code: "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" },
  );
});

test("a change to the files is picked up without a signal", async (t) => {
  const h = await start(t);
  const fresh = newServerPair();
  const reloaded = h.nextReload();
  // the key is written first: a reload between the two writes would be refused, and the cert's write triggers another
  await install(h.files, fresh);
  t.is((await reloaded).cert, fresh.cert);
  const reply = await httpsGet(h.port, trusted());
  t.is(reply.peer.fingerprint256, fingerprint(fresh.cert));
});

test("files replaced by rename, as renewal tools do, are picked up too", async (t) => {
  const h = await start(t);
  const fresh = newServerPair();
  const reloaded = h.nextReload();
  await writeFile(`${h.files.keyFile}.new`, fresh.key);
  await writeFile(`${h.files.certFile}.new`, fresh.cert);
  await rename(`${h.files.keyFile}.new`, h.files.keyFile);
  await rename(`${h.files.certFile}.new`, h.files.certFile);
  t.is((await reloaded).cert, fresh.cert);
  const reply = await httpsGet(h.port, trusted());
  t.is(reply.peer.fingerprint256, fingerprint(fresh.cert));
});

test("a broken new certificate keeps the old one serving and reports why", async (t) => {
  const h = await start(t);
  await writeFile(h.files.certFile, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
  t.false(await h.reloader.reload());
  const [error] = h.errors;
  t.true(error instanceof CertificateError);
  t.is((error as CertificateError).file, h.files.certFile);
  const reply = await httpsGet(h.port, trusted());
  t.is(reply.status, 200);
  t.is(reply.peer.fingerprint256, fingerprint(testPki().server.cert));
});

test("a new certificate without its new key is refused: the old pair keeps serving", async (t) => {
  const h = await start(t);
  await writeFile(h.files.certFile, newServerPair().cert); // the key file still holds the old key
  t.false(await h.reloader.reload());
  t.regex(String((h.errors[0] as Error).message), /private key does not match/);
  const reply = await httpsGet(h.port, trusted());
  t.is(reply.peer.fingerprint256, fingerprint(testPki().server.cert));
});
