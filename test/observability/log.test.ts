import test from "ava";
import { createLogger, loggablePath } from "../../src/observability/log.js";

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

test("a token in a legacy path segment is not logged", (t) => {
  t.is(loggablePath("/v1/auth/token/lookup/hvs.abc"), "/v1/auth/token/lookup/[redacted]");
  t.is(loggablePath("/v1/secret/app"), "/v1/secret/app");
});
