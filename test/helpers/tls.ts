import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { type RequestOptions, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionOptions, connect, type PeerCertificate, type TLSSocket } from "node:tls";
import type { ExecutionContext } from "ava";
import {
  createCertificateAuthority,
  createDevPki,
  type DevPki,
  issueCertificate,
  type PemPair,
} from "../../src/tls/dev-certs.js";

export interface TestPki extends DevPki {
  /** A CA nobody trusts, and a client certificate it signed: what a stranger would present. */
  other: { ca: PemPair; client: PemPair };
}

let shared: TestPki | undefined;

/** A throwaway PKI made once per test process (RSA keys take a moment) and shared by its tests. */
export function testPki(): TestPki {
  if (shared === undefined) {
    const ca = createCertificateAuthority({ commonName: "Stranger CA" });
    const client = issueCertificate(ca, { commonName: "stranger", usage: "client" });
    shared = { ...createDevPki(), other: { ca, client } };
  }
  return shared;
}

/** A temp directory removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-tls-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes name -> content files into a fresh temp dir; returns name -> path. */
export async function writeTempFiles<K extends string>(
  t: ExecutionContext,
  files: Record<K, string>,
): Promise<Record<K, string>> {
  const dir = await tempDir(t);
  const paths = {} as Record<K, string>;
  for (const [name, content] of Object.entries(files) as [K, string][]) {
    paths[name] = join(dir, name);
    await writeFile(paths[name], content, { mode: 0o600 });
  }
  return paths;
}

/** The PKI's server pair (and CA) as files, the way a listener config names them. */
export async function writeServerFiles(
  t: ExecutionContext,
  pair: PemPair = testPki().server,
): Promise<{ certFile: string; keyFile: string; caFile: string }> {
  const paths = await writeTempFiles(t, {
    "server.crt": pair.cert,
    "server.key": pair.key,
    "ca.crt": testPki().ca.cert,
  });
  return { certFile: paths["server.crt"], keyFile: paths["server.key"], caFile: paths["ca.crt"] };
}

export interface HttpsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The certificate the server presented on the connection that carried this request. */
  peer: PeerCertificate;
  /** Whether the request went over a connection an agent had already used. */
  reusedSocket: boolean;
}

/** GET over https to 127.0.0.1:port; a new connection each time unless options.agent says otherwise. */
export async function httpsGet(port: number, options: RequestOptions = {}, path = "/"): Promise<HttpsReply> {
  const req = request({ host: "127.0.0.1", port, path, agent: false, ...options });
  req.end();
  const [res] = (await once(req, "response")) as [IncomingMessage];
  const peer = (res.socket as TLSSocket).getPeerCertificate();
  let body = "";
  res.setEncoding("utf8");
  for await (const chunk of res) body += chunk;
  return { status: res.statusCode ?? 0, headers: res.headers, body, peer, reusedSocket: req.reusedSocket };
}

/** A bare TLS handshake with 127.0.0.1:port; resolves with the open socket (the caller ends it). */
export async function handshake(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
  const socket = connect({ host: "127.0.0.1", port, ...options });
  try {
    await once(socket, "secureConnect");
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  }
}
