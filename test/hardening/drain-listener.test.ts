import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { startHardenedGateway } from "./helpers/hardened-gateway.js";
import { RawHttpClient } from "./helpers/raw-client.js";
import { openTls } from "./helpers/raw-tls.js";
import { header } from "./helpers/wire.js";

const GET = `GET /v1/secret/a HTTP/1.1\r\nHost: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n\r\n`;

test("a request sent on an idle keep-alive connection as the drain starts is still served, with Connection: close", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const gw = await startHardenedGateway({ upstream: { url: backend.url } });
  const client = new RawHttpClient(gw.port);
  t.teardown(() => client.close());
  await client.request(GET);
  const draining = gw.close(5_000);
  const reply = await client.request(GET);
  t.not(reply, "closed");
  if (reply !== "closed") {
    t.is(reply.startLine[1], "200");
    t.is(header(reply, "connection"), "close");
  }
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
