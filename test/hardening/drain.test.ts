import { Agent, request } from "node:https";
import test from "ava";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { testPki } from "../helpers/tls.js";
import { spawnServe } from "./helpers/cli-gateway.js";
import { RawHttpClient } from "./helpers/raw-client.js";
import { openTls } from "./helpers/raw-tls.js";

function get(port: number, agent: Agent, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, agent, servername: "localhost", headers: { "x-nomad-token": TEST_TOKEN } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

for (const workers of [1, 2]) {
  test(`SIGTERM under load (workers: ${workers}): every request started before it completes with 200, idle connections close, exit 0`, async (t) => {
    // each answer takes 100-400 ms, so at any moment many requests are in flight
    const backend = await startBackend((req, res) => {
      setTimeout(
        () => res.writeHead(200, { "content-type": "application/json" }).end(`{"url":"${req.url}"}`),
        100 + Math.random() * 300,
      );
    });
    t.teardown(() => backend.close());
    const gw = await spawnServe({ upstream: { url: backend.url }, workers });
    t.teardown(() => gw.stop());

    const idle = new RawHttpClient(gw.port); // a keep-alive connection that sits idle when the signal comes
    t.teardown(() => idle.close());
    await idle.request(`GET /v1/secret/idle HTTP/1.1\r\nHost: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n\r\n`);
    const idleSocket = await openTls(gw.port);
    const idleClosed = new Promise<number>((resolve) => idleSocket.once("close", () => resolve(performance.now())));

    let signalled = false;
    const started: Array<Promise<number | string>> = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: testPki().ca.cert });
    t.teardown(() => agent.destroy());
    const loops = Array.from({ length: 32 }, async (_, worker) => {
      for (let i = 0; !signalled; i++) {
        const reply = get(gw.port, agent, `/v1/secret/${worker}-${i}`).catch(
          (error: Error) => `${(error as NodeJS.ErrnoException).code ?? ""} ${error.message}`,
        );
        started.push(reply);
        await reply;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    signalled = true; // no request starts after this line
    const inFlight = started.length - (await countSettled(started));
    const signalAt = performance.now();
    process.kill(gw.child.pid ?? 0, "SIGTERM");

    const statuses = await Promise.all(started);
    await Promise.all(loops);
    const code = await gw.exited;
    const failures = statuses.filter((s) => s !== 200);
    const lost = failures.length;
    t.log(`${statuses.length} requests, ${inFlight} in flight at SIGTERM, lost ${lost}: ${failures.join("; ")}`);
    t.true(inFlight > 0, "the signal must find requests in flight");
    t.is(lost, 0);
    t.is(code, 0);
    t.true((await idleClosed) - signalAt < 1_000, "an idle keep-alive connection is closed during the drain");
    await t.throwsAsync(() => openTls(gw.port), undefined, "no new connection after the drain");
  });
}

async function countSettled(promises: ReadonlyArray<Promise<unknown>>): Promise<number> {
  let settled = 0;
  const marker = Symbol("pending");
  for (const p of promises) if ((await Promise.race([p, Promise.resolve(marker)])) !== marker) settled++;
  return settled;
}
