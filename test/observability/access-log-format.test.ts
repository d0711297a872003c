import type { IncomingMessage, ServerResponse } from "node:http";
import test from "ava";
import { pino } from "pino";
import { accessFields, createAccessLog } from "../../src/observability/access-log.js";
import { createLogger } from "../../src/observability/log.js";
import { LoggedFact, type RequestContext } from "../../src/pipeline/context.js";

function finishedRequest(logFields: Record<string, unknown> = {}): RequestContext {
  return {
    id: "0b6f8f0e-2f7c-4d0e-9a55-6c8d7d7f0a11",
    req: { method: "GET" } as IncomingMessage,
    res: { headersSent: true, statusCode: 200, writableFinished: true } as ServerResponse,
    startedAt: performance.now() - 2.5,
    secure: true,
    identity: { ip: "192.0.2.7", tokenId: "abcdefghijklmnopqrstuvwxyz" },
    forwardedFor: "192.0.2.7",
    path: "/v1/auth/token/lookup/hvs.some-token-in-the-path",
    query: "",
    upstreamHeaders: {},
    responseHeaders: {},
    responseHooks: [],
    logFields: {
      auth: "header",
      rateLimit: { allowed: true, source: "redis", rules: [{ name: "reads", allowed: true, remaining: 9 }] },
      backendStatus: 200,
      ...logFields,
    },
  };
}

function capture(level = "info") {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines };
}

test("the access line reads as pino would have written it: same fields, same order, one line", (t) => {
  const { logger, lines } = capture();
  const ctx = finishedRequest();
  createAccessLog(logger)(ctx);
  logger.child({}, { redact: { paths: [] } }).info(accessFields(ctx), "request");
  t.is(lines.length, 2);
  const [framed, byPino] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  t.true(lines.every((line) => line.endsWith("}\n") && line.indexOf("\n") === line.length - 1));
  t.regex(String(framed?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const { time: _a, durationMs: d1, ...rest1 } = framed ?? {};
  const { time: _b, durationMs: d2, ...rest2 } = byPino ?? {};
  t.deepEqual(rest1, rest2);
  t.deepEqual(Object.keys(framed ?? {}), Object.keys(byPino ?? {}));
  t.is(typeof d1, "number");
  t.is(typeof d2, "number");
  t.like(framed, {
    level: "info",
    service: "portcullis",
    pid: process.pid,
    msg: "request",
    path: "/v1/auth/token/lookup/[redacted]",
    client: { ip: "192.0.2.7", tokenId: "abcdefghijklmnop" },
  });
  t.false(
    lines.some((line) => line.includes("hvs.some-token")),
    "a token in the path is never written",
  );
});

test("a fact logged with its JSON reads as pino writes the same fact (which takes it through toJSON)", (t) => {
  const { logger, lines } = capture();
  const value = { allowed: false, source: "redis", retryAfterMs: 1200, rules: [{ name: "r", allowed: false }] };
  // the text is what the line carries: it is spliced in as it is, not serialized again
  const ctx = finishedRequest({ rateLimit: new LoggedFact(value, JSON.stringify(value)), backendStatus: 429 });
  createAccessLog(logger)(ctx);
  logger.child({}, { redact: { paths: [] } }).info(accessFields(ctx), "request");
  const [framed, byPino] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const { time: _a, durationMs: _d1, ...rest1 } = framed ?? {};
  const { time: _b, durationMs: _d2, ...rest2 } = byPino ?? {};
  t.deepEqual(rest1, rest2);
  t.deepEqual(framed?.rateLimit, value);
  // the same order, but for the fact: it follows the other fields (it is not serialized in place)
  const order = Object.keys(byPino ?? {}).filter((key) => key !== "rateLimit");
  order.splice(order.indexOf("msg"), 0, "rateLimit");
  t.deepEqual(Object.keys(framed ?? {}), order);
  t.is(ctx.logFields.rateLimit instanceof LoggedFact, true, "the request's own facts are left as they were");
});

test("no access line below the info level", (t) => {
  const { logger, lines } = capture("warn");
  createAccessLog(logger)(finishedRequest());
  t.deepEqual(lines, []);
});

test("a field JSON cannot carry still gets its line, through pino", (t) => {
  const { logger, lines } = capture();
  const ctx = finishedRequest({ pluginCount: 12n });
  createAccessLog(logger)(ctx);
  t.is(lines.length, 1);
  t.like(JSON.parse(lines[0] ?? "{}"), { msg: "request", status: 200, pluginCount: 12 });
});

test("a child logger's bindings are in the line", (t) => {
  const { logger, lines } = capture();
  createAccessLog(logger.child({ worker: 3 }))(finishedRequest());
  t.like(JSON.parse(lines[0] ?? "{}"), { worker: 3, service: "portcullis", msg: "request" });
});

test("an embedder's logger of another format gets the access line in its own format, through pino", (t) => {
  const lines: string[] = [];
  const logger = pino({ messageKey: "message" }, { write: (line: string) => void lines.push(line) });
  createAccessLog(logger)(finishedRequest());
  t.like(JSON.parse(lines[0] ?? "{}"), { message: "request", level: 30, status: 200 });
});

test("a multistream destination routes the access line by its own level", (t) => {
  const infos: string[] = [];
  const errors: string[] = [];
  const logger = createLogger({
    level: "debug",
    destination: pino.multistream([
      { level: "info", stream: { write: (line: string) => void infos.push(line) } },
      { level: "error", stream: { write: (line: string) => void errors.push(line) } },
    ]),
  });
  logger.debug("a debug line: below both streams");
  createAccessLog(logger)(finishedRequest());
  logger.error("an error line");
  createAccessLog(logger)(finishedRequest());
  t.is(infos.length, 3, "both access lines and the error line reach the info stream");
  t.is(errors.length, 1, "only the error line reaches the error stream");
  t.like(JSON.parse(infos[0] ?? "{}"), { msg: "request", level: "info", status: 200 });
});

test("an err field a plugin added is serialized as pino serializes errors, and redacted", (t) => {
  const { logger, lines } = capture();
  const err = Object.assign(new Error("plugin failure"), { headers: { "x-vault-token": "hvs.leaked-by-a-plugin" } });
  createAccessLog(logger)(finishedRequest({ err }));
  t.like(JSON.parse(lines[0] ?? "{}"), { msg: "request", err: { message: "plugin failure", type: "Error" } });
  t.false(lines[0]?.includes("hvs.leaked-by-a-plugin"), "the logger's redaction applies");
});
