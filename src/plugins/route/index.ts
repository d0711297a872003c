import { definePlugin, type Plugin } from "../../pipeline/plugin.js";
import { ALLOWED_METHODS, checkFraming } from "./framing.js";
import { checkHeaderHygiene, DEFAULT_MAX_HEADERS_COUNT } from "./header-hygiene.js";
import { classifyTarget } from "./request-target.js";

export { ALLOWED_METHODS } from "./framing.js";
export { DEFAULT_MAX_HEADERS_COUNT } from "./header-hygiene.js";

export interface RouteOptions {
  /** Header names that carry tokens (lower case): their underscore spellings are refused. */
  tokenHeaders: readonly string[];
  /** More header lines than this is a 431 (default DEFAULT_MAX_HEADERS_COUNT). */
  maxHeadersCount?: number;
  /** Methods served; others get 405 (default ALLOWED_METHODS). */
  methods?: readonly string[];
}

/** Validates the request target once and fixes the path every later stage matches and the proxy forwards. */
export function route(options: RouteOptions): Plugin {
  const tokenHeaders = [...options.tokenHeaders];
  const maxHeadersCount = options.maxHeadersCount ?? DEFAULT_MAX_HEADERS_COUNT;
  const methods = [...(options.methods ?? ALLOWED_METHODS)];
  return definePlugin({
    name: "route",
    handle(ctx) {
      // framing first: when it is in doubt the connection must close whatever else is wrong with the request
      checkFraming(ctx.req, ctx.res, methods);
      checkHeaderHygiene(ctx.req, tokenHeaders, maxHeadersCount);
      const target = classifyTarget(ctx.req.url ?? "");
      ctx.path = target.path;
      ctx.query = target.query;
      return "continue";
    },
  });
}
