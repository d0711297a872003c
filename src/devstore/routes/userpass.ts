import { badRequest, envelope, noContent, notFound } from "../http.js";
import { decoyHash, hashPassword, verifyPassword } from "../passwords.js";
import { authBlock, DEFAULT_TTL_SECONDS, issueToken, normalizePolicies, parseTtl } from "../tokens.js";
import { authorize, optionalString, type Route, writeCapability } from "./context.js";

/** Vault's userpass method treats user names case-insensitively by lower-casing them. */
const userName = (params: readonly string[]): string => (params[0] ?? "").toLowerCase();

const invalidLogin = () => badRequest("invalid username or password");

export const userpassRoutes: readonly Route[] = [
  {
    pattern: /^auth\/userpass\/users\/?$/,
    operations: ["LIST"],
    handle(ctx) {
      authorize(ctx, "auth/userpass/users/", "list");
      const keys = [...ctx.storage.users.keys()].sort();
      if (keys.length === 0) throw notFound();
      return { status: 200, body: envelope({ data: { keys } }) };
    },
  },
  {
    pattern: /^auth\/userpass\/users\/([^/]+)$/,
    operations: ["GET", "POST", "DELETE"],
    async handle(ctx) {
      const name = userName(ctx.params);
      const path = `auth/userpass/users/${name}`;
      const { users } = ctx.storage;
      const existing = users.get(name);
      if (ctx.operation === "GET") {
        authorize(ctx, path, "read");
        if (existing === undefined) throw notFound();
        const data = { token_policies: existing.policies, policies: existing.policies, token_ttl: existing.tokenTtl };
        return { status: 200, body: envelope({ data }) };
      }
      if (ctx.operation === "DELETE") {
        authorize(ctx, path, "delete");
        users.delete(name);
        await ctx.storage.commit();
        return noContent;
      }
      authorize(ctx, path, writeCapability(existing !== undefined));
      const password = optionalString(ctx.body.password);
      if (existing === undefined && !password) throw badRequest("missing password");
      const policies =
        normalizePolicies(ctx.body.token_policies, "token_policies") ??
        normalizePolicies(ctx.body.policies, "policies") ??
        existing?.policies ??
        [];
      const tokenTtl = parseTtl(ctx.body.token_ttl ?? ctx.body.ttl, "token_ttl") ?? existing?.tokenTtl ?? 0;
      const passwordHash = password ? await hashPassword(password) : existing?.passwordHash;
      if (passwordHash === undefined) throw badRequest("missing password");
      users.set(name, { passwordHash, policies, tokenTtl });
      await ctx.storage.commit();
      return noContent;
    },
  },
  {
    pattern: /^auth\/userpass\/login\/([^/]+)$/,
    operations: ["POST"],
    unauthenticated: true,
    async handle(ctx) {
      const name = userName(ctx.params);
      const password = optionalString(ctx.body.password);
      if (!password) throw badRequest("missing password");
      const user = ctx.storage.users.get(name);
      // an unknown user costs one scrypt too, so timing does not tell which names exist
      const valid = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
      if (user === undefined || !valid) throw invalidLogin();
      const policies = [...new Set(["default", ...user.policies])].sort();
      const token = issueToken(ctx.storage, {
        policies,
        ttl: Math.min(user.tokenTtl || DEFAULT_TTL_SECONDS, DEFAULT_TTL_SECONDS),
        path: `auth/userpass/login/${name}`,
        displayName: `userpass-${name}`,
        meta: { username: name },
        renewable: true,
        parent: null,
      });
      await ctx.storage.commit();
      return { status: 200, body: envelope({ auth: authBlock(token) }) };
    },
  },
];
