import { Agent, request } from "node:https";
import test from "ava";
import type { AuditRecord } from "../../examples/custom-plugin/audit.js";
import { startAuditedGateway } from "../../examples/custom-plugin/server.js";
import { createLogger } from "../../src/index.js";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";
import { replyOf } from "../helpers/servers.js";
import { testPki } from "../helpers/tls.js";

function send(url: string, path: string, method = "GET", token: string | null = TEST_TOKEN, extra = {}) {
  const agent = new Agent({ ca: testPki().ca.cert, keepAlive: false });
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method,
      agent,
      servername: "localhost",
      headers: { ...extra, ...(token === null ? {} : { "x-nomad-token": token }) },
    });
    req.on("response", (res) => void replyOf(res).then(resolve, reject));
    req.on("error", reject);
    req.end();
  }).finally(() => agent.destroy());
}

test("the audit plugin runs before proxy over real TLS: records, tags, forwards the id, refuses protected deletes", async (t) => {
  const backend = await startBackend();
  t.teardown(() => backend.close());
  const records: AuditRecord[] = [];
  const { server } = testPki();
  const gw = await startAuditedGateway({
    upstream: backend.url,
    tls: { cert: server.cert, key: server.key },
    port: 0,
    protectedPrefixes: ["/v1/secret/prod/"],
    record: (entry) => records.push(entry),
    logger: createLogger({ level: "silent" }),
  });
  t.teardown(() => gw.close());
  t.deepEqual(
    gw.gateway.plugins.map((plugin) => plugin.name),
    ["route", "auth", "limit", "help", "audit", "proxy"],
  );

  // %61 = "a": the record holds the normalized path; the client's own X-Request-Id is replaced
  const read = await send(gw.url, "/v1/secret/%61pp", "GET", TEST_TOKEN, { "x-request-id": "forged" });
  t.is(read.status, 200);
  t.is(records.length, 1);
  const [first] = records as [AuditRecord];
  t.like(first, { method: "GET", path: "/v1/secret/app", ip: "127.0.0.1" });
  t.regex(first.tokenId ?? "", /^[A-Za-z0-9_-]{16,}$/);
  t.false(JSON.stringify(records).includes(TEST_TOKEN));
  t.is(read.headers["x-audit-id"], first.requestId);
  t.is(backend.requests[0]?.headers["x-request-id"], first.requestId);

  const refused = await send(gw.url, "/v1/secret/prod/db", "DELETE");
  t.is(refused.status, 403);
  t.deepEqual(JSON.parse(refused.body), { errors: ["deleting here is not allowed through this gateway"] });
  t.is(refused.headers["x-audit-id"], records[1]?.requestId);
  t.is(backend.requests.length, 1, "the refused delete never reached the backend");

  // refused by auth before it: no record
  t.is((await send(gw.url, "/v1/secret/app", "GET", null)).status, 401);
  t.is(records.length, 2);
});
