import test from "ava";
import { createLogger, inLogScope, loggablePath, setLogScope } from "../../src/observability/log.js";

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test("credentials are redacted wherever a careless log call puts them", (t) => {
  const { logger, lines } = capture();
  const headers = {
    cookie: "token=hvs.cookie-1",
    "set-cookie": "token=hvs.cookie-2",
    authorization: "Bearer hvs.bearer-3",
    "x-vault-token": "hvs.vault-4",
    "x-nomad-token": "hvs.nomad-5",
  };
  logger.info({ headers, token: "hvs.token-6", password: "pw-7", secret: "secret-8" }, "top level");
  logger.info({ req: { headers }, auth: { client_token: "hvs.login-9" } }, "one level down");
  logger.error({ err: { response: { headers } }, ctx: { upstreamHeaders: headers, token: "hvs.ctx-10" } }, "two down");
  const raw = lines.join("");
  t.is(lines.length, 3);
  for (const leaked of [/hvs\./, /pw-7/, /secret-8/, /Bearer/]) t.notRegex(raw, leaked);
  t.true(raw.includes("[redacted]"));
});

test("a log scope adds the request's fields to every line written inside it, and only there", async (t) => {
  const { logger, parsed } = capture();
  await inLogScope(async () => {
    let path = "";
    setLogScope(() => ({ requestId: "r-1", ...(path === "" ? {} : { path }) }));
    logger.warn("before route");
    path = "/v1/secret/x";
    await new Promise((resolve) => setTimeout(resolve, 1));
    logger.error({ requestId: "explicit" }, "after an await");
  });
  logger.info("outside");
  const [before, after, outside] = parsed();
  t.like(before, { requestId: "r-1", msg: "before route" });
  t.is(before?.path, undefined);
  t.like(after, { requestId: "explicit", path: "/v1/secret/x" }); // the call's own fields win
  t.is(outside?.requestId, undefined);
  t.is(typeof outside?.pid, "number");
});

test("a token in a legacy path segment is not logged", (t) => {
  t.is(loggablePath("/v1/auth/token/lookup/hvs.abc"), "/v1/auth/token/lookup/[redacted]");
  t.is(loggablePath("/v1/secret/app"), "/v1/secret/app");
});
