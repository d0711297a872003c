import { conformance, eventually, open, setup, sleep } from "./suite.js";

conformance("a backend's HTML 502 page reaches the client as a 502 in the errors shape", async (t, engine) => {
  const { gw } = await setup(t, engine, (_req, res) => {
    res.writeHead(502, { "content-type": "text/html", etag: '"x"' }).end("<html><body>Bad Gateway</body></html>");
  });
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 502);
  t.is(reply.headers["content-type"], "application/json");
  t.is(Number(reply.headers["content-length"]), Buffer.byteLength(reply.body));
  t.is(reply.headers.etag, undefined);
  t.deepEqual(JSON.parse(reply.body), { errors: ["bad gateway"] });
});

conformance("Vault's 404 with an empty errors array gets a message, and other headers survive", async (t, engine) => {
  const { gw } = await setup(t, engine, (_req, res) => {
    res.writeHead(404, { "content-type": "application/json", "cache-control": "no-store" }).end('{"errors":[]}\n');
  });
  const reply = await gw.request("/v1/secret/missing");
  t.is(reply.status, 404);
  t.deepEqual(JSON.parse(reply.body), { errors: ["not found"] });
  t.is(reply.headers["cache-control"], "no-store");
});

conformance("an errors body that is already in shape passes byte for byte", async (t, engine) => {
  const original = '{ "errors" : [ "permission denied", "1 error occurred" ] }\n';
  const { gw } = await setup(t, engine, (_req, res) => {
    res.writeHead(403, { "content-type": "application/json" }).end(original);
  });
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 403);
  t.is(reply.body, original);
  t.is(Number(reply.headers["content-length"]), Buffer.byteLength(original));
});

conformance("a chunked error body is read whole before it is rewritten", async (t, engine) => {
  const { gw } = await setup(t, engine, (_req, res) => {
    res.writeHead(400, { "content-type": "application/json" });
    res.write('{"errors":');
    setTimeout(() => res.end('["missing client token"]}'), 30);
  });
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 400);
  t.deepEqual(JSON.parse(reply.body), { errors: ["missing client token"] });
});

conformance("a huge error body is not buffered whole: the status message is used", async (t, engine) => {
  const { gw } = await setup(t, engine, (_req, res) => {
    res.writeHead(500, { "content-type": "text/plain" }).end("x".repeat(2 * 1024 * 1024));
  });
  const reply = await gw.request("/v1/secret/foo");
  t.is(reply.status, 500);
  t.deepEqual(JSON.parse(reply.body), { errors: ["internal server error"] });
  t.is((await gw.request("/v1/secret/foo")).status, 500, "the dropped upstream connection does not break the next");
});

conformance("a JSON error message is wrapped, and a stack trace never reaches the client", async (t, engine) => {
  let body = JSON.stringify({ error: "quota exceeded" });
  const { gw } = await setup(t, engine, (_req, res) => {
    res.writeHead(429, { "content-type": "application/json" }).end(body);
  });
  t.deepEqual(JSON.parse((await gw.request("/v1/secret/foo")).body), { errors: ["quota exceeded"] });
  body = "Error: boom\n    at handler (/srv/app.js:10:5)\n    at next (/srv/router.js:1:1)";
  const reply = await gw.request("/v1/secret/foo");
  t.false(reply.body.includes("app.js"));
});

conformance(
  "a client that goes away while an error body is still coming is nobody's failure: nothing logged as one",
  async (t, engine) => {
    let upstreamStarted = false;
    let upstreamClosed = false;
    const { gw } = await setup(t, engine, (req, res) => {
      if (req.url !== "/v1/secret/trickle") return void res.writeHead(200, { "content-type": "text/plain" }).end("{}");
      upstreamStarted = true;
      res.writeHead(500, { "content-type": "application/json" });
      res.write('{"errors":["');
      const timer = setInterval(() => res.write("x"), 10);
      res.on("close", () => {
        clearInterval(timer);
        upstreamClosed = true;
      });
    });
    const { req } = open(gw, "/v1/secret/trickle");
    // the request must have reached the backend before the client leaves (a busy machine takes its time)
    t.true(await eventually(() => upstreamStarted, 5_000), "the request never reached the backend");
    await sleep(100); // the error head and the first bytes of its body have reached the gateway
    req.destroy();
    t.true(await eventually(() => upstreamClosed, 5_000), "the backend saw its response abandoned");
    await eventually(() => gw.logs.some((line) => line.msg === "request"), 2_000);
    t.deepEqual(
      gw.logs.filter((line) => line.level === "error").map((line) => line.msg),
      [],
      "no error line: neither the backend nor the gateway failed",
    );
    t.is((await gw.request("/v1/secret/next")).status, 200);
  },
);
