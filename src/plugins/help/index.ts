import { NotFoundError } from "../../errors/gateway-error.js";
import { searchParams } from "../../pipeline/context.js";
import { definePlugin, type Plugin, type Verdict } from "../../pipeline/plugin.js";
import { createPathList, DEFAULT_ALLOW_LIST, type PathList } from "../auth/allow-list.js";
import { type AccessCheckOptions, createAccessCheck } from "./access.js";
import { createHelpRegistry, type HelpRegistry } from "./registry.js";

export interface HelpOptions extends AccessCheckOptions {
  /** The registry to answer from (default: the built-in texts plus `entries`). */
  registry?: HelpRegistry;
  /** Extra texts from configuration, pattern -> text; they override built-in texts for the same pattern. */
  entries?: Readonly<Record<string, string>>;
  /** Paths whose help needs no token: pass the auth stage's `allowList` (default: DEFAULT_ALLOW_LIST). */
  allowList?: PathList;
}

export interface HelpPlugin extends Plugin {
  /** Plugins add their own texts here: `registry.add(pattern, text)`. */
  readonly registry: HelpRegistry;
}

/**
 * Answers `?help=1` (any non-empty `help` value, as Vault does) itself, after auth, and never forwards it. The text comes from the registry;
 * it is shown only if the caller's token has some capability on the path (asked of the backend), except on
 * allow-listed paths, which anyone may call anyway. "No such help" and "no access" get the same 404, so the
 * answer reveals nothing about what exists.
 * @example
 * const helpStage = help({ upstream, agent, allowList: authStage.allowList, entries: config.help });
 * helpStage.registry.add("transit/encrypt/*", "Encrypts with the named key.");
 */
export function help(options: HelpOptions): HelpPlugin {
  const registry = options.registry ?? createHelpRegistry(options.entries);
  if (options.registry !== undefined && options.entries !== undefined) {
    for (const [pattern, text] of Object.entries(options.entries)) registry.add(pattern, text);
  }
  const anonymous = options.allowList ?? createPathList(DEFAULT_ALLOW_LIST);
  const mayAccess = createAccessCheck(options);

  const stage = definePlugin({
    name: "help",
    async handle(ctx): Promise<Verdict> {
      // Vault shows help for any non-empty `help` value (help=0 too): anything we let through, it would answer
      if (!ctx.query.includes("help")) return "continue";
      const value = searchParams(ctx).get("help");
      if (value === null || value === "") return "continue";
      const text = registry.lookup(ctx.path);
      if (text === undefined) throw new NotFoundError();
      if (!anonymous.matches(ctx.path)) {
        // auth has run, so a missing token means a pipeline without auth: fail closed, as for "no access"
        const { token } = ctx;
        const { tokenId } = ctx.identity;
        if (token === undefined || tokenId === undefined) throw new NotFoundError();
        if (!(await mayAccess(token, tokenId, ctx.path.slice("/v1/".length)))) throw new NotFoundError();
      }
      const payload = JSON.stringify({ help: text });
      ctx.res.writeHead(200, {
        ...ctx.responseHeaders,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(payload),
        "cache-control": "no-store",
      });
      ctx.res.end(payload);
      return "answered";
    },
  });
  return Object.assign(stage, { registry });
}

export { type AccessCheck, type AccessCheckOptions, createAccessCheck } from "./access.js";
export { BUILTIN_HELP } from "./builtin-texts.js";
export { createHelpRegistry, HelpRegistry } from "./registry.js";
