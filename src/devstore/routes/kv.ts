import { badRequest, envelope, noContent, notFound } from "../http.js";
import { DEFAULT_TTL_SECONDS } from "../tokens.js";
import { authorize, type Route, writeCapability } from "./context.js";

/** KV version 1 mounted at `secret/`, as on a Vault server with `vault secrets enable -path=secret kv`. */
const MOUNT = "secret/";

/** The immediate children of `prefix`: keys, and sub-folders with a trailing "/", sorted as Vault sorts them. */
function childrenOf(keys: Iterable<string>, prefix: string): string[] {
  const children = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf("/");
    children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  return [...children].sort();
}

export const kvRoutes: readonly Route[] = [
  {
    pattern: /^secret(?:\/(.*))?$/,
    operations: ["GET", "POST", "DELETE", "LIST"],
    async handle(ctx) {
      const key = ctx.params[0] ?? "";
      const { kv } = ctx.storage;
      if (ctx.operation === "LIST") {
        const prefix = key === "" || key.endsWith("/") ? key : `${key}/`;
        // Vault checks a list against the folder's path, trailing slash included
        authorize(ctx, MOUNT + prefix, "list");
        const keys = childrenOf(kv.keys(), prefix);
        if (keys.length === 0) throw notFound();
        return { status: 200, body: envelope({ data: { keys } }) };
      }
      const path = MOUNT + key;
      if (ctx.operation === "GET") {
        authorize(ctx, path, "read");
        const data = kv.get(key);
        if (data === undefined) throw notFound();
        return { status: 200, body: envelope({ data, leaseDuration: DEFAULT_TTL_SECONDS }) };
      }
      if (ctx.operation === "DELETE") {
        authorize(ctx, path, "delete");
        kv.delete(key);
        await ctx.storage.commit();
        return noContent;
      }
      authorize(ctx, path, writeCapability(kv.has(key)));
      if (key === "" || key.endsWith("/")) throw badRequest('a secret\'s path cannot be empty or end with "/"');
      if (Object.keys(ctx.body).length === 0) throw badRequest("missing data fields");
      kv.set(key, { ...ctx.body });
      await ctx.storage.commit();
      return noContent;
    },
  },
];
