import { badRequest, envelope, noContent } from "../http.js";
import {
  authBlock,
  DEFAULT_TTL_SECONDS,
  issueToken,
  lookupData,
  normalizePolicies,
  parseTtl,
  revokeToken,
} from "../tokens.js";
import { authorize, optionalString, type Route } from "./context.js";

function stringMap(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  const entries = typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : undefined;
  if (entries === undefined || !entries.every(([, item]) => typeof item === "string")) {
    throw badRequest(`invalid value for "meta": expected an object of strings`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export const tokenRoutes: readonly Route[] = [
  {
    pattern: /^auth\/token\/lookup-self$/,
    operations: ["GET"],
    handle(ctx) {
      const token = authorize(ctx, "auth/token/lookup-self", "read");
      return { status: 200, body: envelope({ data: lookupData(token) }) };
    },
  },
  {
    pattern: /^auth\/token\/create$/,
    operations: ["POST"],
    async handle(ctx) {
      const parent = authorize(ctx, "auth/token/create", "update");
      const { body } = ctx;
      const parentPolicies = parent.record.policies;
      const parentIsRoot = parentPolicies.includes("root");
      // without "policies" the child inherits the parent's; a child never gets more than its parent
      const asked = normalizePolicies(body.policies, "policies") ?? parentPolicies;
      if (!parentIsRoot && asked.some((name) => name !== "default" && !parentPolicies.includes(name))) {
        throw badRequest("child policies must be subset of parent");
      }
      const isRoot = asked.includes("root");
      const withDefault = isRoot || body.no_default_policy === true ? asked : ["default", ...asked];
      const policies = [...new Set(withDefault)].sort();
      const orphan = body.no_parent === true;
      if (orphan) authorize(ctx, "auth/token/create", "update", "sudo"); // as in Vault: orphans need root or sudo
      // only a root token that never expires may make another one that never expires
      const neverExpires = isRoot && parent.record.expiresAt === null;
      const ttl = parseTtl(body.ttl, "ttl") || (neverExpires ? 0 : DEFAULT_TTL_SECONDS);
      const displayName = optionalString(body.display_name);
      const token = issueToken(ctx.storage, {
        policies,
        ttl: Math.min(ttl, DEFAULT_TTL_SECONDS),
        path: "auth/token/create",
        displayName: displayName ? `token-${displayName}` : "token",
        meta: stringMap(body.meta),
        renewable: body.renewable !== false,
        parent: orphan ? null : parent.hash,
      });
      await ctx.storage.commit();
      return { status: 200, body: envelope({ auth: authBlock(token) }) };
    },
  },
  {
    pattern: /^auth\/token\/revoke-self$/,
    operations: ["POST"],
    async handle(ctx) {
      const token = authorize(ctx, "auth/token/revoke-self", "update");
      revokeToken(ctx.storage, token.hash);
      await ctx.storage.commit();
      return noContent;
    },
  },
  {
    pattern: /^auth\/token\/renew-self$/,
    operations: ["POST"],
    async handle(ctx) {
      const token = authorize(ctx, "auth/token/renew-self", "update");
      const { record } = token;
      if (!record.renewable || record.expiresAt === null) throw badRequest("lease is not renewable");
      const now = Date.now();
      const increment = parseTtl(ctx.body.increment, "increment") || record.creationTtl;
      // a renewal never takes a token past the system's maximum TTL, counted from its creation
      const expiresAt = Math.min(now + increment * 1000, record.issuedAt + DEFAULT_TTL_SECONDS * 1000);
      const renewed = { ...token, record: { ...record, expiresAt } };
      ctx.storage.tokens.set(token.hash, renewed.record);
      await ctx.storage.commit();
      return { status: 200, body: envelope({ auth: authBlock(renewed, now) }) };
    },
  },
];
