import { once } from "node:events";
import { createConnection } from "node:net";
import { type ConnectionOptions, connect, type TLSSocket } from "node:tls";
import test, { type ExecutionContext } from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { testPki } from "../helpers/tls.js";
import { startHardenedGateway } from "./helpers/hardened-gateway.js";
import { RawHttpClient } from "./helpers/raw-client.js";
import { openTls } from "./helpers/raw-tls.js";
import { header, parseMessages, type WireMessage } from "./helpers/wire.js";

const GET = `GET /v1/secret/a HTTP/1.1\r\nHost: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n\r\n`;

/** What a client saw of one answer, in one comparable string. */
function outcome(response: WireMessage | "closed"): string {
  return response === "closed" ? "closed" : `${response.startLine[1]} connection: ${header(response, "connection")}`;
}

async function gatewayOverBackend(t: ExecutionContext) {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  return startHardenedGateway({ upstream: { url: backend.url } });
}

test("a request sent on an idle keep-alive connection as the drain starts is still served, with Connection: close", async (t) => {
  const gw = await gatewayOverBackend(t);
  const client = new RawHttpClient(gw.port);
  t.teardown(() => client.close());
  await client.request(GET);
  const draining = gw.close(5_000);
  t.is(outcome(await client.request(GET)), "200 connection: close");
  await draining;
});

test("a connection that never sent a byte does not hold the drain until the headers timeout", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startHardenedGateway({ upstream: { url: backend.url }, limits: { headersTimeoutMs: 30_000 } });
  const silent = await openTls(gw.port);
  silent.on("error", () => {});
  const started = performance.now();
  await gw.close(20_000);
  t.true(performance.now() - started < 1_000, `${Math.round(performance.now() - started)} ms`);
  t.true(silent.destroyed || (await new Promise((resolve) => silent.once("close", () => resolve(true)))) === true);
});

test("a request still running at the deadline is cut, and close() returns by then", async (t) => {
  const backend = await startBackend(() => {}); // never answers
  t.teardown(() => backend.close());
  const gw = await startHardenedGateway({ upstream: { url: backend.url } });
  const client = new RawHttpClient(gw.port);
  t.teardown(() => client.close());
  const pending = client.request(GET, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = performance.now();
  await gw.close(500);
  t.true(performance.now() - started < 1_200);
  t.is(await pending, "closed");
});

/** Holds the event loop, as a starved process does: the kernel goes on accepting and receiving meanwhile. */
function blockLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Resolves true once the TLS handshake is done, false if the connection closes first. */
function handshake(socket: TLSSocket): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once("secureConnect", () => resolve(true));
    socket.once("close", () => resolve(false));
  });
}

function readResponse(socket: TLSSocket): Promise<WireMessage | "closed"> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const first = parseMessages(bytes, "response", false).messages[0];
      if (first === undefined) return;
      socket.off("data", onData);
      resolve(first);
    };
    socket.on("data", onData);
    socket.once("close", () => resolve("closed"));
  });
}

/** Sends GET on a connection whose handshake is under way, and tells what came back. */
async function servedOn(socket: TLSSocket, delayMs = 0): Promise<string> {
  if (!(await handshake(socket))) return "reset before the handshake ended";
  const reply = readResponse(socket);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  socket.write(GET);
  return outcome(await reply);
}

function tlsClient(t: ExecutionContext, options: ConnectionOptions): TLSSocket {
  const socket = connect({ ca: testPki().ca.cert, servername: "localhost", ...options });
  socket.on("error", () => {});
  t.teardown(() => socket.destroy());
  return socket;
}

// these two hold the whole test process's loop: serial, so no other test of this file runs meanwhile
test.serial(
  "connections the kernel had accepted before the drain started, but the gateway not yet taken, are all served",
  async (t) => {
    const gw = await gatewayOverBackend(t);
    // several: libuv takes one connection from the accept queue per loop iteration
    const served = Array.from({ length: 8 }, () => servedOn(tlsClient(t, { host: "127.0.0.1", port: gw.port })));
    await new Promise((resolve) => process.nextTick(resolve)); // net.connect calls connect() on the next tick
    blockLoop(100); // the TCP handshakes complete in the kernel; the connections wait in the accept queue
    const draining = gw.close(5_000);
    t.deepEqual(await Promise.all(served), Array(8).fill("200 connection: close"));
    await draining;
  },
);

test.serial(
  "a connection that comes a few ms after the last one taken is still taken, as a cluster worker's next one over IPC",
  async (t) => {
    const gw = await gatewayOverBackend(t);
    const first = servedOn(tlsClient(t, { host: "127.0.0.1", port: gw.port }));
    await new Promise((resolve) => process.nextTick(resolve));
    blockLoop(50); // queued when the drain starts
    const draining = gw.close(5_000);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the drain has taken the first, and polled again
    const second = servedOn(tlsClient(t, { host: "127.0.0.1", port: gw.port }));
    t.deepEqual(await Promise.all([first, second]), ["200 connection: close", "200 connection: close"]);
    await draining;
  },
);

test.serial(
  "a request that sits unread on a kept-alive connection when the idle sweep runs is served, not cut",
  async (t) => {
    const gw = await gatewayOverBackend(t);
    const socket = tlsClient(t, { host: "127.0.0.1", port: gw.port });
    t.is(await servedOn(socket), "200 connection: keep-alive");
    const draining = gw.close(5_000);
    const second = readResponse(socket);
    socket.write(GET); // into the gateway's socket buffer at once
    blockLoop(600); // past the idle grace: its timer fires before the loop next reads the sockets
    t.is(outcome(await second), "200 connection: close", "closed as idle with a request in it");
    await draining;
  },
);

test("a connection whose TLS handshake ends during the drain has the idle grace for its first request", async (t) => {
  const gw = await gatewayOverBackend(t);
  const tcp = createConnection({ host: "127.0.0.1", port: gw.port });
  t.teardown(() => tcp.destroy());
  await once(tcp, "connect");
  await new Promise((resolve) => setTimeout(resolve, 50)); // accepted by the gateway, its handshake not begun
  const draining = gw.close(5_000);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the drain's idle sweeps are running
  // a slow client: a sweep (every 50 ms) passes between its handshake and its request, well within the grace
  t.is(await servedOn(tlsClient(t, { socket: tcp }), 70), "200 connection: close");
  await draining;
});
