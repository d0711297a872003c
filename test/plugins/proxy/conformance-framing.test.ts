import { connect } from "node:tls";
import { TEST_TOKEN } from "../../helpers/backend.js";
import { testPki } from "../../helpers/tls.js";
import { startRawBackend } from "./raw-backend.js";
import { conformance, gatewayFor } from "./suite.js";

// These cases read the backend's side off the wire (raw-backend.ts): the framing a library would hide is the point.

async function rawSetup(t: import("ava").ExecutionContext, engine: Parameters<typeof gatewayFor>[1]) {
  const backend = await startRawBackend();
  t.teardown(() => backend.close());
  return { backend, gw: await gatewayFor(t, engine, backend.url) };
}

conformance("a POST body with Content-Length arrives intact, with that length", async (t, engine) => {
  const { backend, gw } = await rawSetup(t, engine);
  const body = '{"value":"bar"}';
  const reply = await gw.request("/v1/secret/baz", {
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  t.is(reply.status, 200);
  const [seen] = backend.requests();
  t.is(seen?.method, "POST");
  t.is(seen?.framing, "length");
  t.deepEqual(seen?.headers["content-length"], [String(body.length)]);
  t.is(seen?.body.toString(), body);
});

conformance("a chunked PUT body arrives intact and still chunked", async (t, engine) => {
  const { backend, gw } = await rawSetup(t, engine);
  const body = "x".repeat(100_000);
  const reply = await gw.request("/v1/secret/baz", {
    method: "PUT",
    body,
    headers: { "transfer-encoding": "chunked" },
  });
  t.is(reply.status, 200);
  const [seen] = backend.requests();
  t.is(seen?.framing, "chunked");
  t.is(seen?.headers["content-length"], undefined);
  t.is(seen?.body.toString(), body);
});

conformance("an empty POST is sent with Content-Length: 0", async (t, engine) => {
  const { backend, gw } = await rawSetup(t, engine);
  t.is((await gw.request("/v1/sys/rotate", { method: "POST", headers: { "content-length": "0" } })).status, 200);
  const [seen] = backend.requests();
  t.is(seen?.method, "POST");
  t.deepEqual(seen?.headers["content-length"], ["0"]);
  t.is(seen?.body.length, 0);
});

conformance("a chunked DELETE cannot smuggle a request: the backend sees exactly what was sent", async (t, engine) => {
  const { backend, gw } = await rawSetup(t, engine);
  const payload = "GET /v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const del = await gw.request("/v1/secret/foo", {
    method: "DELETE",
    headers: { "transfer-encoding": "chunked" },
    body: payload,
  });
  t.is(del.status, 200);
  t.is((await gw.request("/v1/secret/after")).status, 200);
  const seen = backend.requests();
  t.deepEqual(
    seen.map((r) => `${r.method} ${r.url}`),
    ["DELETE /v1/secret/foo", "GET /v1/secret/after"],
  );
  t.is(seen[0]?.framing, "chunked");
  t.is(seen[0]?.body.toString(), payload);
  t.false(backend.connections.some((bytes) => /\r\ncontent-length: 0\r\n/i.test(bytes.toString("latin1"))));
});

conformance(
  "a Connection header naming Content-Length cannot strip the framing and smuggle a request",
  async (t, engine) => {
    const { backend, gw } = await rawSetup(t, engine);
    const payload = "GET /v1/smuggled HTTP/1.1\r\nHost: x\r\nClient-Cert: :Zm9yZ2Vk:\r\n\r\n";
    // DELETE (like GET and OPTIONS) has no chunked default in Node's client: without its length the body is unframed
    const reply = await gw.request("/v1/secret/foo", {
      method: "DELETE",
      headers: {
        connection: "keep-alive, content-length, host, transfer-encoding",
        "content-length": String(payload.length),
      },
      body: payload,
    });
    t.is(reply.status, 200);
    t.is((await gw.request("/v1/secret/after")).status, 200);
    const seen = backend.requests();
    t.deepEqual(
      seen.map((r) => `${r.method} ${r.url}`),
      ["DELETE /v1/secret/foo", "GET /v1/secret/after"],
    );
    t.is(seen[0]?.body.toString(), payload);
  },
);

conformance("requests on one kept-alive client connection arrive as separate, framed requests", async (t, engine) => {
  const { backend, gw } = await rawSetup(t, engine);
  // one TLS connection, three requests written back to back (a pipelining client)
  const socket = connect({ host: "127.0.0.1", port: gw.port, ca: testPki().ca.cert, servername: "localhost" });
  t.teardown(() => socket.destroy());
  const head = (method: string, path: string, extra: string) =>
    `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nX-Vault-Token: ${TEST_TOKEN}\r\n${extra}\r\n`;
  socket.write(
    head("POST", "/v1/secret/a", "Content-Length: 5\r\n") +
      "hello" +
      head("DELETE", "/v1/secret/b", "Transfer-Encoding: chunked\r\n") +
      "5\r\nworld\r\n0\r\n\r\n" +
      head("GET", "/v1/secret/c", ""),
  );
  let received = "";
  socket.setEncoding("latin1");
  for await (const chunk of socket as AsyncIterable<string>) {
    received += chunk;
    if (received.split("HTTP/1.1 200 OK").length - 1 === 3) break;
  }
  // node:http serves pipelined requests concurrently (answers stay in order), so arrival order is not asserted
  t.deepEqual(
    backend
      .requests()
      .map((r) => `${r.method} ${r.url} ${r.framing} ${r.body.toString()}`)
      .sort(),
    ["DELETE /v1/secret/b chunked world", "GET /v1/secret/c none ", "POST /v1/secret/a length hello"],
  );
});

conformance("a chunked body over the size limit is cut off with 413", async (t, engine) => {
  const backend = await startRawBackend();
  t.teardown(() => backend.close());
  const gw = await gatewayFor(t, engine, backend.url, { limits: { maxBodyBytes: 64 * 1024 } });
  const reply = await gw.request("/v1/secret/big", {
    method: "PUT",
    headers: { "transfer-encoding": "chunked" },
    body: "x".repeat(256 * 1024),
  });
  t.is(reply.status, 413);
  t.deepEqual(JSON.parse(reply.body), { errors: ["request body too large"] });
  t.deepEqual(backend.requests(), [], "no complete request reached the backend");
  t.is((await gw.request("/v1/secret/after")).status, 200);
});
