import { connect } from "node:net";
import test from "ava";
import nodeVault from "node-vault";
import { parseConfig } from "../../src/config/load.js";
import { startDevStore } from "../../src/devstore/index.js";
import { createGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/observability/log.js";
import { startListener } from "../../src/server/listen.js";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { testPki } from "../helpers/tls.js";
import { inErrorShape } from "./helpers/error-shape.js";
import { RawHttpClient } from "./helpers/raw-client.js";
import { rawExchange } from "./helpers/raw-tls.js";
import { parseMessages } from "./helpers/wire.js";

const H = `Host: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n`;

test("node-vault's default list (the LIST verb) works through the gateway against the dev store", async (t) => {
  const store = await startDevStore();
  t.teardown(() => store.close());
  const gw = await startGateway({ upstream: { url: store.url } });
  t.teardown(() => gw.close());
  // no noCustomHTTPVerbs: node-vault sends LIST, as the Vault CLI does
  const vault = nodeVault({ endpoint: gw.url, token: store.rootToken, requestOptions: { ca: testPki().ca.cert } });
  await vault.write("secret/app/db", { user: "app" });
  await vault.write("secret/app/cache/redis", { url: "redis://127.0.0.1:6379" });
  t.deepEqual((await vault.list("secret/app")).data.keys, ["cache/", "db"]);
  t.deepEqual((await vault.read("secret/app/db")).data, { user: "app" });
  const missing = await t.throwsAsync(() => vault.list("secret/nothing-here"));
  t.is((missing as Error & { response?: { statusCode: number } }).response?.statusCode, 404);
  const lists = gw.logs.filter((line) => line.msg === "request" && line.path === "/v1/secret/app");
  t.true(lists.length > 0);
  t.false(gw.rawLog().includes(store.rootToken));
});

test("a keep-alive connection serves LIST, GET, LIST in turn, each LIST as GET ?list=true", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const client = new RawHttpClient(gw.port);
  t.teardown(() => client.close());
  const statuses: number[] = [];
  for (const line of ["LIST /v1/secret/a", "GET /v1/secret/b", "LIST /v1/secret/c/"]) {
    const reply = await client.request(`${line} HTTP/1.1\r\n${H}\r\n`);
    statuses.push(reply === "closed" ? 0 : Number(reply.startLine[1]));
  }
  t.deepEqual(statuses, [200, 200, 200]);
  t.deepEqual(
    backend.requests.map((r) => `${r.method} ${r.url}`),
    ["GET /v1/secret/a?list=true", "GET /v1/secret/b", "GET /v1/secret/c/?list=true"],
  );
});

test("a LIST goes through every stage: without a token it is a 401, outside /v1/ a 404", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url } });
  t.teardown(() => gw.close());
  const noToken = await rawExchange(gw.port, "LIST /v1/secret/ HTTP/1.1\r\nHost: gw\r\n\r\n", { responses: 1 });
  const outside = await rawExchange(gw.port, `LIST /v2/secret/ HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
  const dots = await rawExchange(gw.port, `LIST /v1/secret/%2e%2e/sys/ HTTP/1.1\r\n${H}\r\n`, { responses: 1 });
  const replies = [noToken, outside, dots].map((e) => parseMessages(e.bytes, "response", e.closedByServer).messages[0]);
  t.deepEqual(
    replies.map((r) => Number(r?.startLine[1])),
    [401, 404, 400],
  );
  t.true(replies.every((r) => r !== undefined && inErrorShape(r)));
  t.is(backend.requests.length, 0);
});

test.serial("a LIST whose header block never ends is closed with 408 at the headers timeout", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, limits: { headersTimeoutMs: 1_000 } });
  t.teardown(() => gw.close());
  const drip = ["LIST /v1/secret/ HTTP/1.1\r\n", ...Array.from({ length: 20 }, (_, i) => `X-${i}: 1\r\n`)];
  const exchange = await rawExchange(gw.port, drip, { gapMs: 150, idleMs: 3_000 });
  t.true(exchange.closedByServer);
  t.true(exchange.ms < 2_000, `lived ${Math.round(exchange.ms)} ms`);
  const reply = parseMessages(exchange.bytes, "response", true).messages[0];
  t.is(Number(reply?.startLine[1]), 408);
  t.true(reply !== undefined && inErrorShape(reply));
});

test("a LIST header block over maxHeaderBytes is a 431", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, limits: { maxHeaderBytes: 2_048 } });
  t.teardown(() => gw.close());
  const exchange = await rawExchange(gw.port, `LIST /v1/secret/ HTTP/1.1\r\n${H}X-Big: ${"x".repeat(4_000)}\r\n\r\n`);
  const reply = parseMessages(exchange.bytes, "response", true).messages[0];
  t.is(Number(reply?.startLine[1]), 431);
  t.is(backend.requests.length, 0);
});

test("LIST is served on a plain-HTTP listener too (tls.enabled: false)", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const config = parseConfig({ upstream: { url: backend.url }, tls: { enabled: false } });
  const logger = createLogger({ level: "silent" });
  const gateway = await createGateway(config, { logger });
  const listener = await startListener(gateway.handler, {
    host: "127.0.0.1",
    port: 0,
    tls: false,
    limits: config.limits,
    logger,
  });
  t.teardown(async () => {
    await listener.close(100);
    await gateway.close();
  });
  const socket = connect(listener.port, "127.0.0.1");
  socket.write(`LIST /v1/secret/ HTTP/1.1\r\n${H}\r\nGET /v1/secret/b HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const replies = parseMessages(Buffer.concat(chunks), "response", true).messages;
  t.deepEqual(
    replies.map((r) => Number(r.startLine[1])),
    [200, 200],
  );
  t.deepEqual(
    backend.requests.map((r) => r.url),
    ["/v1/secret/?list=true", "/v1/secret/b"],
  );
});
