import { definePlugin, type Plugin } from "../../pipeline/plugin.js";
import { checkHeaderHygiene } from "./header-hygiene.js";
import { classifyTarget } from "./request-target.js";

export interface RouteOptions {
  /** Header names that carry tokens (lower case): their underscore spellings are refused. */
  tokenHeaders: readonly string[];
}

/** Validates the request target once and fixes the path every later stage matches and the proxy forwards. */
export function route(options: RouteOptions): Plugin {
  const tokenHeaders = [...options.tokenHeaders];
  return definePlugin({
    name: "route",
    handle(ctx) {
      const target = classifyTarget(ctx.req.url ?? "");
      checkHeaderHygiene(ctx.req, tokenHeaders);
      ctx.path = target.path;
      ctx.query = target.query;
      return "continue";
    },
  });
}
