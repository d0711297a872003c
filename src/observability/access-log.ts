import { type DestinationStream, type Logger, pino } from "pino";
import { LoggedFact, type RequestContext } from "../pipeline/context.js";
import { hasOwnFormat, loggablePath } from "./log.js";

/** Writes the one access line of a finished request. */
export type AccessLog = (ctx: RequestContext) => void;

interface PinoInternals {
  [pino.symbols.streamSym]?: DestinationStream;
  [pino.symbols.chindingsSym]?: string;
}

/**
 * The access log of `logger`. Its fields are a fixed set built from values safe by construction (no header, no body,
 * a token only as a prefix of its keyed hash), so the line skips pino's redaction and, on a logger of
 * createLogger()'s format, pino's serializer too: one JSON.stringify of the fields, framed as pino frames a line
 * (level, time, the logger's bindings, msg). Profiled under load, pino's path was 8 % of the gateway's CPU per request.
 * Another logger (an embedder's, with its own formatters) gets its lines through pino as usual.
 */
export function createAccessLog(logger: Logger): AccessLog {
  const child = logger.child({}, { redact: { paths: [] } });
  const internals = child as unknown as PinoInternals;
  const stream = internals[pino.symbols.streamSym];
  const bindings = internals[pino.symbols.chindingsSym];
  if (stream === undefined || typeof bindings !== "string" || !hasOwnFormat(stream)) {
    return (ctx) => {
      if (child.isLevelEnabled("info")) child.info(accessFields(ctx), "request");
    };
  }
  const clock = new IsoClock();
  return (ctx) => {
    if (!child.isLevelEnabled("info")) return;
    const fields = accessFields(ctx);
    // an error a plugin put in the fields gets pino's error serializer, and the logger's redaction (an error may
    // carry the headers of a request it was about)
    if (fields.err !== undefined) return void logger.info(fields, "request");
    const spliced = spliceFacts(ctx.logFields, fields);
    let json: string;
    try {
      json = JSON.stringify(fields);
    } catch {
      // a field a plugin added that JSON cannot carry (a BigInt, a cycle): pino's own serializer copes
      logger.info(accessFields(ctx), "request");
      return;
    }
    stream.write(
      `{"level":"info","time":"${clock.now()}"${bindings},${json.slice(1, -1)}${spliced},"msg":"request"}\n`,
    );
  };
}

/** What the access line says: who, what, how it ended. Never a token, cookie or body. */
export function accessFields(ctx: RequestContext): Record<string, unknown> {
  const { identity, res } = ctx;
  return {
    requestId: ctx.id,
    method: ctx.req.method,
    path: ctx.path === "" ? undefined : loggablePath(ctx.path),
    status: res.headersSent ? res.statusCode : undefined,
    completed: res.writableFinished,
    durationMs: Math.round((performance.now() - ctx.startedAt) * 10) / 10,
    client: { ip: identity.ip, certSubject: identity.certSubject, tokenId: identity.tokenId?.slice(0, 16) },
    ...ctx.logFields,
  };
}

/**
 * Takes the LoggedFacts of `facts` out of `fields` (left undefined, which JSON.stringify skips) and returns their
 * JSON as `,"name":json...`, to follow the other fields: the one difference from the order pino writes.
 */
function spliceFacts(facts: Record<string, unknown>, fields: Record<string, unknown>): string {
  let spliced = "";
  for (const name in facts) {
    const fact = facts[name];
    if (!(fact instanceof LoggedFact)) continue;
    fields[name] = undefined;
    spliced = `${spliced},${JSON.stringify(name)}:${fact.json}`;
  }
  return spliced;
}

/** The ISO time pino's isoTime writes, formatted once per millisecond rather than once per line. */
class IsoClock {
  #ms = 0;
  #text = "";

  now(): string {
    const ms = Date.now();
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#text = new Date(ms).toISOString();
    }
    return this.#text;
  }
}
