import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { BackendUnavailableError, ConfigError } from "../../../src/errors/gateway-error.js";
import { backendVerifier } from "../../../src/plugins/auth/verifiers/backend.js";
import { staticVerifier } from "../../../src/plugins/auth/verifiers/static.js";
import { closeServer, listen } from "../../helpers/servers.js";
import { LOOKUP, startFakeVault } from "./harness.js";

test("backendVerifier: 200 from lookup-self is valid, with the token's ttl and policies", async (t) => {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  vault.tokens.set("s.good", { ttl: 120, policies: ["default", "dev"] });
  const verifier = backendVerifier({ upstream: vault.url });
  t.deepEqual(await verifier.verify("s.good"), { valid: true, ttlSeconds: 120, policies: ["default", "dev"] });
  t.is(vault.count(LOOKUP), 1);
});

test("backendVerifier: 403 from lookup-self is a definite invalid", async (t) => {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  t.deepEqual(await backendVerifier({ upstream: vault.url }).verify("s.unknown"), { valid: false });
});

test("backendVerifier: a sealed backend (503) is an outage, not an invalid token", async (t) => {
  const vault = await startFakeVault();
  t.teardown(() => vault.close());
  vault.tokens.set("s.good", {});
  vault.mode = "sealed";
  await t.throwsAsync(backendVerifier({ upstream: vault.url }).verify("s.good"), {
    instanceOf: BackendUnavailableError,
  });
});

test("backendVerifier: a refused connection is an outage", async (t) => {
  const vault = await startFakeVault();
  await vault.close();
  await t.throwsAsync(backendVerifier({ upstream: vault.url }).verify("s.good"), {
    instanceOf: BackendUnavailableError,
  });
});

test("backendVerifier: a backend that does not answer within timeoutMs is an outage", async (t) => {
  const server = createServer(() => {}); // never answers
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  const started = performance.now();
  const verifier = backendVerifier({ upstream: new URL(`http://127.0.0.1:${port}`), timeoutMs: 100 });
  await t.throwsAsync(verifier.verify("s.good"), { instanceOf: BackendUnavailableError });
  t.true(performance.now() - started < 2_000);
});

test("backendVerifier: a 200 that is not Vault's JSON is an outage, not a valid token", async (t) => {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<h1>proxy</h1>"));
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  const verifier = backendVerifier({ upstream: new URL(`http://127.0.0.1:${port}`) });
  await t.throwsAsync(verifier.verify("s.good"), { instanceOf: BackendUnavailableError });
});

test("backendVerifier: the token goes in the configured header, and no error mentions it", async (t) => {
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers["x-custom-token"] as string | undefined);
    res.writeHead(500).end("s.secret-token broke");
  });
  const port = await listen(server);
  t.teardown(() => closeServer(server));
  const verifier = backendVerifier({ upstream: new URL(`http://127.0.0.1:${port}`), tokenHeader: "X-Custom-Token" });
  const error = await t.throwsAsync(verifier.verify("s.secret-token"));
  t.deepEqual(seen, ["s.secret-token"]);
  t.false(JSON.stringify({ message: error?.message, cause: String(error?.cause) }).includes("s.secret-token"));
});

test("backendVerifier: a non-http upstream is refused when built", (t) => {
  t.throws(() => backendVerifier({ upstream: new URL("ftp://127.0.0.1/") }), { instanceOf: ConfigError });
});

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

async function tokenFile(t: { teardown(fn: () => Promise<void>): void }, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-static-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "tokens.sha256");
  await writeFile(file, text);
  return file;
}

test("staticVerifier: accepts tokens whose SHA-256 is listed, skipping comments and blank lines", async (t) => {
  const file = await tokenFile(t, `# ops team\n\n${sha256("alpha")}  # alice\n${sha256("beta").toUpperCase()}\n`);
  const verifier = staticVerifier({ file });
  t.is(verifier.size, 2);
  t.deepEqual(await verifier.verify("alpha"), { valid: true });
  t.deepEqual(await verifier.verify("beta"), { valid: true });
  t.deepEqual(await verifier.verify("gamma"), { valid: false });
  t.deepEqual(await verifier.verify(sha256("alpha")), { valid: false }); // the hash itself is not a token
});

test("staticVerifier: reload() picks up a changed file, and keeps the old list when the new one is bad", async (t) => {
  const file = await tokenFile(t, `${sha256("alpha")}\n`);
  const verifier = staticVerifier({ file });
  await writeFile(file, `${sha256("beta")}\n`);
  await verifier.reload();
  t.deepEqual(await verifier.verify("alpha"), { valid: false });
  t.deepEqual(await verifier.verify("beta"), { valid: true });
  await writeFile(file, "not-a-hash\n");
  await t.throwsAsync(verifier.reload(), { instanceOf: ConfigError });
  t.deepEqual(await verifier.verify("beta"), { valid: true });
});

test("staticVerifier: a line that is not a digest fails the start without quoting the line", async (t) => {
  const file = await tokenFile(t, `${sha256("alpha")}\ns.raw-token-pasted-by-mistake\n`);
  const error = t.throws(() => staticVerifier({ file }), { instanceOf: ConfigError });
  t.regex(error?.message ?? "", /line 2/);
  t.false(error?.message.includes("s.raw-token-pasted-by-mistake"));
});

test("staticVerifier: a missing file fails the start", (t) => {
  t.throws(() => staticVerifier({ file: join(tmpdir(), "portcullis-does-not-exist") }), { instanceOf: ConfigError });
});
