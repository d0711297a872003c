import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
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
  t.true(socket.destroyed, "the gateway closed the connection");
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
