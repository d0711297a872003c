import test from "ava";
import { startBackend, type TestBackend } from "../helpers/backend.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";
import { inErrorShape } from "./helpers/error-shape.js";
import { rawExchange } from "./helpers/raw-tls.js";
import { type RecordingProxy, startRecordingProxy } from "./helpers/recording-proxy.js";
import { SMUGGLING_CASES } from "./helpers/smuggling-cases.js";
import { parseMessages } from "./helpers/wire.js";

// A gateway in front of a byte-recording relay in front of a Node backend, for each forwarding engine. For each
// case, the bytes the gateway sent upstream are parsed by the strict reader of wire.ts, independently of Node:
// every stream must split into whole requests (a partial one only on a connection the gateway closed), and those
// must be exactly the requests the case allows. Anything else is a desynchronization.

// both forwarding engines are held to the same cases (DESIGN: one conformance suite for the two)
const ENGINES = ["http-proxy", "undici"] as const;
interface Rig {
  backend: TestBackend;
  relay: RecordingProxy;
  gw: TestGateway;
}
const rigs = new Map<string, Rig>();
const desyncs: string[] = [];

test.before(async () => {
  for (const engine of ENGINES) {
    const backend = await startBackend();
    const relay = await startRecordingProxy(backend.port);
    const gw = await startGateway({ upstream: { url: relay.url, engine }, rateLimit: { rules: [] } });
    rigs.set(engine, { backend, relay, gw });
  }
});
test.after.always(async () => {
  for (const { gw, relay, backend } of rigs.values()) {
    await gw.close();
    await relay.close();
    await backend.close();
  }
});

const sorted = (list: readonly string[]) => [...list].sort();
const LOOKUP = "GET /v1/auth/token/lookup-self"; // the gateway's own token check, not a forwarded request

for (const engine of ENGINES) {
  for (const c of SMUGGLING_CASES) {
    test.serial(`${engine}: ${c.name}`, async (t) => {
      const { backend, relay, gw } = rigs.get(engine) as Rig;
      const mark = relay.mark();
      const backendBefore = backend.requests.length;
      const exchange = await rawExchange(gw.port, c.send, { gapMs: 100, responses: c.statuses.length });
      await new Promise((resolve) => setTimeout(resolve, 50)); // upstream writes and closes settle

      const upstream: string[] = [];
      for (const [i, stream] of relay.since(mark).entries()) {
        const parsed = parseMessages(stream.bytes, "request", false);
        if (parsed.error !== undefined) desyncs.push(`${engine}: ${c.name}: upstream ${i}: ${parsed.error}`);
        if (parsed.rest.length > 0 && !stream.closed) {
          desyncs.push(`${engine}: ${c.name}: upstream ${i} left a partial request open`);
        }
        for (const m of parsed.messages) upstream.push(`${m.startLine[0]} ${m.startLine[1]}`);
      }
      const forwarded = upstream.filter((r) => r !== LOOKUP);
      const nodeView = backend.requests.slice(backendBefore).map((r) => `${r.method} ${r.url}`);
      if (JSON.stringify(sorted(forwarded)) !== JSON.stringify(sorted(c.forwarded))) {
        desyncs.push(`${engine}: ${c.name}: upstream carried ${JSON.stringify(forwarded)}`);
      }
      t.deepEqual(sorted(forwarded), sorted(c.forwarded), "what the upstream bytes parse into");
      t.deepEqual(sorted(nodeView), sorted(c.forwarded), "what the Node backend read");

      const replies = parseMessages(exchange.bytes, "response", exchange.closedByServer);
      t.is(replies.error, undefined, "the client can read every response");
      t.is(replies.rest.length, 0, "nothing follows the last response");
      if (replies.error !== undefined || replies.rest.length > 0) desyncs.push(`${engine}: ${c.name}: client stream`);
      t.deepEqual(
        replies.messages.map((m) => Number(m.startLine[1])),
        [...c.statuses],
      );
      for (const reply of replies.messages.filter((m) => Number(m.startLine[1]) >= 400)) {
        t.true(inErrorShape(reply), reply.body.toString("latin1"));
      }
    });
  }
}

test.serial(`desynchronizations across the ${SMUGGLING_CASES.length} smuggling cases, both engines: 0`, (t) => {
  t.log(`${SMUGGLING_CASES.length} cases x ${ENGINES.length} engines, ${desyncs.length} desynchronizations`);
  t.deepEqual(desyncs, []);
  for (const { backend } of rigs.values()) {
    t.false(
      backend.requests.some((r) => r.url.includes("smuggled")),
      "a hidden request reached the backend",
    );
  }
});
