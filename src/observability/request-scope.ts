import type { IncomingMessage, ServerResponse } from "node:http";
import { definePlugin, type Plugin } from "../pipeline/plugin.js";
import { inLogScope, loggablePath, setLogScope } from "./log.js";

/** Wraps a gateway handler so every request runs in a log scope of its own (see inLogScope). */
export function scopedHandler(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => inLogScope(() => handler(req, res));
}

/**
 * The first stage when the gateway runs under runGateway: names the request in its log scope, so an error logged
 * anywhere downstream says which request it was (id, method, normalized path; never a token or query string).
 */
export function requestScope(): Plugin {
  return definePlugin({
    name: "request-scope",
    handle(ctx) {
      setLogScope(() => ({
        requestId: ctx.id,
        method: ctx.req.method,
        ...(ctx.path === "" ? {} : { path: loggablePath(ctx.path) }),
      }));
      return "continue";
    },
  });
}
