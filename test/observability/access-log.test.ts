import test from "ava";
import { type Responder, startBackend, TEST_TOKEN, vaultLikeOk } from "../helpers/backend.js";
import { startGateway } from "../helpers/gateway.js";
import { eventually } from "../helpers/wait.js";
import { startRunning } from "./harness.js";

const LOGIN_TOKEN = "hvs.login-issued-token-4242";
const BOGUS_TOKEN = "hvs.made-up-token-9999";
const PASSWORD = "correct-horse-battery-staple";

/** Vault-ish: login answers with a token; /v1/secret/missing is 404, /v1/secret/broken 500; the rest 200. */
const backendAnswers: Responder = (req, res, body) => {
  if (req.url?.startsWith("/v1/auth/userpass/login/")) {
    const answer = JSON.stringify({ auth: { client_token: LOGIN_TOKEN, lease_duration: 3600, policies: ["default"] } });
    res.writeHead(200, { "content-type": "application/json" }).end(answer);
    return;
  }
  if (req.url === "/v1/secret/missing") return void res.writeHead(404).end('{"errors":[]}');
  if (req.url === "/v1/secret/broken") return void res.writeHead(500).end('{"errors":["boom"]}');
  vaultLikeOk(req, res, body);
};

const READS = { name: "reads", paths: ["secret/*"], key: "token" as const, limit: 100, periodMs: 60_000 };

test("one access line per request with id, method, normalized path, status, times, rate-limit decision and client", async (t) => {
  const backend = await startBackend(backendAnswers);
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [READS] } });
  t.teardown(() => gw.close());

  // %65 is "e": the line shows the one normalized path every stage matched and the backend received
  const reply = await gw.request("/v1/secr%65t/app?version=2");
  t.is(reply.status, 200);
  // the line is written once the answer finished on the gateway's side, which can be after the client has read it
  t.true(await eventually(() => gw.logs.some((line) => line.msg === "request")), "no access line");
  const access = gw.logs.filter((line) => line.msg === "request");
  t.is(access.length, 1);
  const line = access[0] as Record<string, unknown>;
  t.regex(String(line.requestId), /^[0-9a-f-]{36}$/);
  t.like(line, {
    level: "info",
    method: "GET",
    path: "/v1/secret/app",
    status: 200,
    completed: true,
    auth: "header",
    backendStatus: 200,
    rateLimit: { allowed: true, source: "memory", rules: [{ name: "reads", allowed: true, remaining: 99 }] },
    client: { ip: "127.0.0.1" },
  });
  t.is(typeof line.durationMs, "number");
  t.is(typeof line.backendMs, "number");
  t.true((line.durationMs as number) >= (line.backendMs as number));
  t.is(typeof line.rateLimitMs, "number");
  t.true((line.durationMs as number) >= (line.rateLimitMs as number));
  t.regex(String((line.client as { tokenId?: string }).tokenId), /^[A-Za-z0-9_-]{16}$/);
  t.false(JSON.stringify(line).includes("version=2"), "the query string is not logged");
});

test("no token, cookie, password or secret in any line: login, cookie auth, bad token, 4xx, 5xx, backend down", async (t) => {
  const backend = await startBackend(backendAnswers);
  t.teardown(() => backend.close());
  const gw = await startGateway({ upstream: { url: backend.url }, rateLimit: { rules: [READS] } });
  t.teardown(() => gw.close());

  const login = await gw.request("/v1/auth/userpass/login/alice", {
    method: "POST",
    token: null,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password: PASSWORD }),
  });
  t.is(login.status, 200);
  t.true(String(login.headers["set-cookie"]).includes(`token=${LOGIN_TOKEN}`));
  // the login primed the cache: the cookie works without a lookup
  t.is((await gw.request("/v1/secret/app", { token: null, headers: { cookie: `token=${LOGIN_TOKEN}` } })).status, 200);
  t.is((await gw.request("/v1/secret/app", { token: BOGUS_TOKEN })).status, 401);
  t.is((await gw.request("/v1/secret/app", { token: null, headers: { cookie: `token=${BOGUS_TOKEN}` } })).status, 401);
  t.is((await gw.request(`/v1/auth/token/lookup/${TEST_TOKEN}`)).status, 200);
  t.is((await gw.request("/v1/secret/missing")).status, 404);
  t.is((await gw.request("/v1/secret/broken")).status, 500);
  t.is((await gw.request("/v1/secret/app", { headers: { "x-vault-token": BOGUS_TOKEN } })).status, 400);
  await backend.close();
  t.is((await gw.request("/v1/secret/app")).status, 503);

  const access = gw.logs.filter((line) => line.msg === "request");
  t.deepEqual(
    access.map((line) => line.status),
    [200, 200, 401, 401, 200, 404, 500, 400, 503],
  );
  t.like(access[1], { auth: "cookie", status: 200 });
  t.like(access[0], { auth: "anonymous", path: "/v1/auth/userpass/login/alice" });
  t.is(access[4]?.path, "/v1/auth/token/lookup/[redacted]");
  const raw = gw.rawLog();
  for (const secret of [TEST_TOKEN, LOGIN_TOKEN, BOGUS_TOKEN, PASSWORD, "token=", "hvs."]) {
    t.false(raw.includes(secret), `the log contains ${secret}`);
  }
});

test("an error logged while a request runs names the request: id, method and normalized path", async (t) => {
  const backend = await startBackend();
  const gw = await startRunning(t, { upstream: { url: backend.url } });
  await backend.close();
  t.is((await gw.request("/v1/secret/app")).status, 503);
  const access = gw.logs.find((line) => line.msg === "request");
  const error = gw.logs.find((line) => line.level === "error");
  t.truthy(error, gw.rawLog());
  t.like(error, { requestId: access?.requestId, method: "GET", path: "/v1/secret/app" });
  // the token lookup was the first call to find the backend gone
  t.like(access, { backendError: { kind: "unavailable", stage: "auth" }, status: 503 });
  t.truthy((error?.err as { type?: string } | undefined)?.type);
  t.false(gw.rawLog().includes(TEST_TOKEN));
});
