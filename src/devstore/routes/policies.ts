import { badRequest, noContent, notFound, sysEnvelope } from "../http.js";
import { parsePolicy } from "../policy.js";
import { authorize, capabilitiesOf, optionalString, type Route, writeCapability } from "./context.js";

/** Vault keeps policy names lower-cased. */
const policyName = (params: readonly string[]): string => (params[0] ?? "").toLowerCase();

export const policyRoutes: readonly Route[] = [
  {
    pattern: /^sys\/policy\/?$/,
    operations: ["GET", "LIST"],
    handle(ctx) {
      authorize(ctx, "sys/policy", ctx.operation === "LIST" ? "list" : "read");
      const names = ["root", ...[...ctx.storage.policies.keys()].filter((name) => name !== "root").sort()];
      return { status: 200, body: sysEnvelope({ policies: names, keys: names }) };
    },
  },
  {
    pattern: /^sys\/policy\/(.+)$/,
    operations: ["GET", "POST", "DELETE"],
    async handle(ctx) {
      const name = policyName(ctx.params);
      const path = `sys/policy/${name}`;
      const { policies } = ctx.storage;
      if (ctx.operation === "GET") {
        authorize(ctx, path, "read");
        const rules = name === "root" ? "" : policies.get(name)?.text;
        if (rules === undefined) throw notFound();
        return { status: 200, body: sysEnvelope({ name, rules }) };
      }
      if (ctx.operation === "DELETE") {
        authorize(ctx, path, "delete");
        if (name === "root" || name === "default") throw badRequest(`cannot delete "${name}" policy`);
        policies.delete(name);
        await ctx.storage.commit();
        return noContent;
      }
      authorize(ctx, path, writeCapability(policies.has(name)));
      if (name === "root") throw badRequest(`cannot update "root" policy`);
      // Vault's field is "policy"; "rules" is its older name
      const text = optionalString(ctx.body.policy) ?? optionalString(ctx.body.rules);
      if (text === undefined) throw badRequest("'policy' parameter not supplied or empty");
      policies.set(name, parsePolicy(name, text));
      await ctx.storage.commit();
      return noContent;
    },
  },
  {
    pattern: /^sys\/capabilities-self$/,
    operations: ["POST"],
    handle(ctx) {
      const token = authorize(ctx, "sys/capabilities-self", "update");
      const { paths, path } = ctx.body;
      const asked = Array.isArray(paths) ? paths : typeof path === "string" ? [path] : [];
      if (asked.length === 0 || !asked.every((item) => typeof item === "string")) {
        throw badRequest("'paths' must be a list of paths");
      }
      const answer: Record<string, unknown> = {};
      for (const item of asked as string[]) answer[item] = capabilitiesOf(ctx, token, item);
      // Vault adds "capabilities" only when one path was asked, for clients of the older single-path form
      if (asked.length === 1) answer.capabilities = answer[asked[0] as string];
      return { status: 200, body: sysEnvelope(answer) };
    },
  },
];
