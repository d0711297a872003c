import { createServer as createHttpsServer } from "node:https";
import { createServer, type Server, type TlsOptions } from "node:tls";
import test, { type ExecutionContext } from "ava";
import { SERVER_CIPHERS, serverTlsOptions } from "../../src/tls/context.js";
import { closeServer, listen } from "../helpers/servers.js";
import { handshake, httpsGet, testPki } from "../helpers/tls.js";

async function tlsServer(t: ExecutionContext, options: TlsOptions): Promise<number> {
  const srv: Server = createServer(options, (socket) => socket.end());
  srv.on("tlsClientError", () => {}); // refused handshakes are the point of these tests
  const port = await listen(srv);
  t.teardown(() => closeServer(srv));
  return port;
}

function gatewayOptions(clientCerts: "off" | "optional" | "required" = "off", refuseAtHandshake = false) {
  const { server, ca } = testPki();
  return serverTlsOptions({ ...server, ca: ca.cert }, { clientCerts, refuseAtHandshake });
}

const trusted = () => ({ ca: testPki().ca.cert, servername: "localhost" });

test("a TLS 1.1 client is refused", async (t) => {
  const port = await tlsServer(t, gatewayOptions());
  // SECLEVEL=0 lets this client's own OpenSSL offer TLS 1.1, so the refusal is the server's
  const error = await t.throwsAsync(
    handshake(port, { ...trusted(), minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" }),
  );
  t.is((error as NodeJS.ErrnoException).code, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION"); // the server's alert
});

test("a TLS 1.2 client offering only a non forward-secret suite (AES128-GCM-SHA256) is refused", async (t) => {
  const port = await tlsServer(t, gatewayOptions());
  const error = await t.throwsAsync(
    handshake(port, { ...trusted(), maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256" }),
  );
  t.is((error as NodeJS.ErrnoException).code, "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE"); // the server's alert
});

test("control: a default node server would accept AES128-GCM-SHA256, so the refusal above is our cipher list", async (t) => {
  const port = await tlsServer(t, { ...testPki().server });
  const socket = await handshake(port, { ...trusted(), maxVersion: "TLSv1.2", ciphers: "AES128-GCM-SHA256" });
  t.is(socket.getCipher().name, "AES128-GCM-SHA256");
  socket.destroy();
});

for (const cipher of ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"]) {
  test(`a TLS 1.2 client offering ${cipher} is accepted`, async (t) => {
    const port = await tlsServer(t, gatewayOptions());
    const socket = await handshake(port, { ...trusted(), maxVersion: "TLSv1.2", ciphers: cipher });
    t.is(socket.getProtocol(), "TLSv1.2");
    t.is(socket.getCipher().name, cipher);
    t.true(socket.authorized);
    socket.destroy();
  });
}

test("a default client negotiates TLS 1.3", async (t) => {
  const port = await tlsServer(t, gatewayOptions());
  const socket = await handshake(port, trusted());
  t.is(socket.getProtocol(), "TLSv1.3");
  socket.destroy();
});

test("the cipher list holds only ECDHE AEAD suites besides the TLS 1.3 ones", (t) => {
  for (const suite of SERVER_CIPHERS.split(":")) {
    t.regex(
      suite,
      /^(TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+|ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305))$/,
    );
  }
});

test("client certificates are requested unless off, and refused at the handshake only when asked to", (t) => {
  const pick = (o: ReturnType<typeof gatewayOptions>) => [o.requestCert, o.rejectUnauthorized];
  t.deepEqual(pick(gatewayOptions("off")), [false, false]);
  t.deepEqual(pick(gatewayOptions("optional")), [true, false]);
  t.deepEqual(pick(gatewayOptions("required")), [true, false]);
  t.deepEqual(pick(gatewayOptions("required", true)), [true, true]);
  t.deepEqual(pick(gatewayOptions("optional", true)), [true, false]);
});

test("refuseAtHandshake ends the connection of a client without a certificate; a trusted one gets through", async (t) => {
  const srv = createHttpsServer(gatewayOptions("required", true), (_req, res) => res.end("ok"));
  srv.on("tlsClientError", () => {});
  const port = await listen(srv);
  t.teardown(() => closeServer(srv));
  await t.throwsAsync(httpsGet(port, trusted()));
  const reply = await httpsGet(port, { ...trusted(), ...testPki().client });
  t.is(reply.body, "ok");
});
