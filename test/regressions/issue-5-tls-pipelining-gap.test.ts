import test from "ava";
import { openTls } from "../hardening/helpers/raw-tls.js";
import { parseMessages } from "../hardening/helpers/wire.js";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";

// Issue 5: on TLS, Node hands a parser paused for backpressure the next decrypted bytes, refuses them (HPE_PAUSED)
// and drops them; on resume it went on parsing after the gap, so a body sent after the gap could be read as a
// request. Now nothing after the gap is parsed: owed responses go out in order, then the connection closes.

const H = `Host: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n`;
const HIDDEN = `GET /v1/smuggled HTTP/1.1\r\n${H}\r\n`;

test("issue 5: pipelining behind backed-up responses over TLS never parses across the dropped bytes", async (t) => {
  const big = "x".repeat(256 * 1024);
  const backend = await startBackend((req, res) => {
    const body = req.url?.startsWith("/v1/big/") ? big : JSON.stringify({ url: req.url });
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) }).end(body);
  });
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [] } });
  t.teardown(() => gw.close());

  const socket = await openTls(gw.port);
  t.teardown(() => socket.destroy());
  socket.pause(); // the client does not read: the gateway's writes back up and Node pauses the parser
  const writes = [
    ...Array.from({ length: 20 }, (_, i) => `GET /v1/big/${i} HTTP/1.1\r\n${H}\r\n`),
    `POST /v1/secret/p HTTP/1.1\r\n${H}Content-Length: ${HIDDEN.length}\r\n\r\n`,
    HIDDEN,
    ...Array.from({ length: 3 }, (_, i) => `GET /v1/small/${i} HTTP/1.1\r\n${H}\r\n`),
  ];
  for (const bytes of writes) {
    socket.write(bytes);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.resume();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);

  const replies = parseMessages(Buffer.concat(chunks), "response", true);
  t.is(replies.error, undefined);
  t.true(
    replies.messages.every((m) => m.startLine[1] === "200"),
    "no error answers an innocent pipelined request",
  );
  // what reached the backend is a prefix of what was sent (in any order: requests parsed one after the other may
  // be forwarded side by side), and every one of them was answered
  const sent = writes.filter((w) => w !== HIDDEN).map((w) => w.split(" ")[1]);
  const received = backend.requests.map((r) => r.url);
  t.deepEqual([...received].sort(), sent.slice(0, received.length).sort());
  t.is(replies.messages.length, received.length);
  // and the answers come in the order the requests were sent, each the backend's answer to its own
  replies.messages.forEach((reply, i) => {
    const path = sent[i] ?? "";
    if (path.startsWith("/v1/big/")) t.is(reply.body.length, big.length, `answer ${i} (${path})`);
    else t.is(JSON.parse(reply.body.toString()).url, path, `answer ${i}`);
  });
  t.false(received.includes("/v1/smuggled"));
});
