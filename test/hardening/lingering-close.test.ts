import type { Socket } from "node:net";
import { type ConnectionOptions, connect, type TLSSocket } from "node:tls";
import test, { type ExecutionContext } from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { testPki } from "../helpers/tls.js";
import { openTls } from "./helpers/raw-tls.js";
import { parseMessages } from "./helpers/wire.js";

// A connection the gateway ends after an error answer lingers while the client still sends: closing it under the
// client's feet makes the kernel answer the next bytes with a reset, and the reset makes the client's kernel drop
// every response it has not read yet. A pipelining client that is slow to read lost its answers that way.

const H = `Host: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n`;

test("a client still sending after the error answer, slow to read, gets every response owed and a clean close", async (t) => {
  const body = "y".repeat(4096);
  const backend = await startBackend((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }).end(body);
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [] } });
  t.teardown(() => gw.close());

  const socket = await openTls(gw.port);
  t.teardown(() => socket.destroy());
  let failure: Error | undefined;
  socket.on("error", (error) => {
    failure = error;
  });
  socket.pause(); // not reading yet: everything the gateway sends waits in the kernel's buffers
  const good = Array.from({ length: 4 }, (_, i) => `GET /v1/secret/${i} HTTP/1.1\r\n${H}\r\n`).join("");
  socket.write(`${good}GET /v1/secret/bad HTTP/1.1\r\n${H}Bad Header\r\n\r\n`);
  // the client goes on pipelining for well over a second, as a client that has not seen the answers yet would
  for (let i = 0; i < 15; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write(`GET /v1/secret/later-${i} HTTP/1.1\r\n${H}\r\n`);
  }
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.resume();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);

  t.is(failure, undefined, "closed cleanly, not reset");
  t.true(socket.destroyed, "the connection ended");
  const replies = parseMessages(Buffer.concat(chunks), "response", true);
  t.is(replies.error, undefined);
  t.deepEqual(
    replies.messages.map((m) => m.startLine[1]),
    ["200", "200", "200", "200", "400"],
  );
  t.deepEqual(JSON.parse(replies.messages[4]?.body.toString() ?? ""), { errors: ["bad request"] });
  t.deepEqual(
    backend.requests.map((r) => r.url),
    ["/v1/secret/0", "/v1/secret/1", "/v1/secret/2", "/v1/secret/3"],
  );
});

/** A client that does not close its side when the gateway closes its own, as a hostile or broken one may not. */
async function halfOpenTls(port: number): Promise<TLSSocket> {
  // tls.connect passes allowHalfOpen on to the socket; @types/node does not list it
  const options: ConnectionOptions & { allowHalfOpen: boolean } = {
    host: "127.0.0.1",
    port,
    ca: testPki().ca.cert,
    servername: "localhost",
    allowHalfOpen: true,
  };
  const socket = connect(options);
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  socket.on("error", () => {});
  return socket;
}

/** When the gateway's side of its next connection is closed (performance.now()). */
function gatewaySideClosed(gw: TestGateway): Promise<number> {
  return new Promise((resolve) => {
    gw.listener.server.once("secureConnection", (socket: Socket) => {
      socket.once("close", () => resolve(performance.now()));
    });
  });
}

/** Reads until the gateway's FIN; resolves with when it came and what came before it. */
function untilGatewayEnds(socket: TLSSocket): Promise<{ at: number; text: string }> {
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  return new Promise((resolve) => socket.once("end", () => resolve({ at: performance.now(), text })));
}

async function gatewayFor(t: ExecutionContext, limits: Record<string, number> = {}) {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, limits });
  t.teardown(() => gw.close());
  return gw;
}

const BAD = `GET /v1/secret/x HTTP/1.1\r\n${H}Bad Header\r\n\r\n`;

interface Drip {
  readonly bytes: string;
  readonly everyMs: number;
  /** From the gateway's answer on, rather than from the request on. */
  readonly afterAnswer?: boolean;
}

/**
 * Sends `request` on a client connection that never closes its side, dripping more bytes meanwhile if asked; resolves
 * with the answer and how long after its end (the gateway's FIN) the gateway closed its side.
 */
async function lingerAfter(t: ExecutionContext, gw: TestGateway, request: string, drip?: Drip) {
  const closed = gatewaySideClosed(gw);
  const socket = await halfOpenTls(gw.port);
  t.teardown(() => socket.destroy());
  const ended = untilGatewayEnds(socket);
  socket.write(request);
  let timer: NodeJS.Timeout | undefined;
  const startDrip = () => {
    if (drip !== undefined) timer = setInterval(() => socket.writable && socket.write(drip.bytes), drip.everyMs);
  };
  t.teardown(() => clearInterval(timer));
  if (drip?.afterAnswer !== true) startDrip();
  const { at, text } = await ended;
  if (drip?.afterAnswer === true) startDrip();
  const lingered = (await closed) - at;
  clearInterval(timer);
  t.log(`closed ${Math.round(lingered)} ms after the answer`);
  return { text, lingered };
}

test("a client that neither sends nor closes after the error answer is let go about 2 s later", async (t) => {
  const { text, lingered } = await lingerAfter(t, await gatewayFor(t), BAD);
  t.regex(text, /^HTTP\/1\.1 400 /);
  t.true(lingered >= 1_500 && lingered < 5_000, `${Math.round(lingered)} ms`);
});

test("a client that keeps sending after the error answer is let go after at most 10 s", async (t) => {
  const { lingered } = await lingerAfter(t, await gatewayFor(t), BAD, { bytes: "x", everyMs: 300, afterAnswer: true });
  t.true(lingered >= 9_000 && lingered < 13_000, `${Math.round(lingered)} ms`);
});

test("a request head too slow to arrive gets its 408 and no long linger, however it trickles on", async (t) => {
  const gw = await gatewayFor(t, { headersTimeoutMs: 1_000 });
  const head = "GET /v1/secret/slow HTTP/1.1\r\nHost: gw\r\n";
  const { text, lingered } = await lingerAfter(t, gw, head, { bytes: "X-Slow: y\r\n", everyMs: 200 });
  t.regex(text, /^HTTP\/1\.1 408 /);
  t.true(lingered < 2_000, `${Math.round(lingered)} ms`);
});
