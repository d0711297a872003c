import { createHash, randomBytes, randomInt } from "node:crypto";
import { badRequest } from "./http.js";
import type { Storage, TokenRecord } from "./storage.js";

/** Vault's default and maximum lease for tokens and KV reads: 768h. */
export const DEFAULT_TTL_SECONDS = 768 * 3600;

/** A token as a request presented it, found in the store and still alive. */
export interface ResolvedToken {
  readonly raw: string;
  readonly hash: string;
  readonly record: TokenRecord;
}

/** `hvs.` and 24 random bytes: the prefix Vault gives service tokens, and more entropy than a UUID. */
export function newToken(): string {
  return `hvs.${randomBytes(24).toString("base64url")}`;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 24 random alphanumerics, the shape of a Vault accessor. */
export function newAccessor(): string {
  let accessor = "";
  for (let i = 0; i < 24; i++) accessor += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return accessor;
}

/**
 * Tokens are stored and looked up by their SHA-256: the map lookup compares hashes, never the secret itself, and
 * neither memory dumps nor the state file hold a usable token.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a TTL as Vault does: seconds as a number or digits, or a duration such as "1h", "30m", "1h30m". */
export function parseTtl(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return Number(value);
    if (/^(\d+[smhd])+$/.test(value)) {
      let seconds = 0;
      for (const [, amount, unit] of value.matchAll(/(\d+)([smhd])/g)) {
        seconds += Number(amount) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
      }
      return seconds;
    }
  }
  throw badRequest(`invalid value for "${field}": expected seconds or a duration such as "1h" or "30m"`);
}

/** Policies as Vault keeps them: trimmed, lower-cased, without duplicates; from a list or a comma-separated string. */
export function normalizePolicies(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const items = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(items) || !items.every((item) => typeof item === "string")) {
    throw badRequest(`invalid value for "${field}": expected a list of policy names`);
  }
  return [...new Set(items.map((item) => item.trim().toLowerCase()).filter((item) => item !== ""))];
}

export interface TokenSpec {
  policies: string[];
  /** seconds; 0 = never expires (only for root tokens) */
  ttl: number;
  path: string;
  displayName: string;
  meta: Record<string, string> | null;
  renewable: boolean;
  parent: string | null;
}

/** Creates and stores a token; the caller commits the storage. Returns the token itself, shown only once. */
export function issueToken(storage: Storage, spec: TokenSpec, now = Date.now()): ResolvedToken {
  const raw = newToken();
  const record: TokenRecord = {
    accessor: newAccessor(),
    policies: spec.policies,
    path: spec.path,
    displayName: spec.displayName,
    meta: spec.meta,
    issuedAt: now,
    creationTtl: spec.ttl,
    expiresAt: spec.ttl === 0 ? null : now + spec.ttl * 1000,
    renewable: spec.ttl !== 0 && spec.renewable,
    parent: spec.parent,
  };
  const hash = hashToken(raw);
  storage.tokens.set(hash, record);
  return { raw, hash, record };
}

/** Finds a token that is still alive: not expired, and (unless an orphan) with a live parent chain. */
export function resolveToken(storage: Storage, raw: string, now = Date.now()): ResolvedToken | undefined {
  const hash = hashToken(raw);
  const record = storage.tokens.get(hash);
  if (record === undefined) return undefined;
  if (record.expiresAt !== null && record.expiresAt <= now) {
    storage.tokens.delete(hash); // gone from memory now; the next commit leaves it out of the file too
    return undefined;
  }
  let current: TokenRecord | undefined = record;
  for (let depth = 0; current !== undefined && depth < 64; depth++) {
    if (current.expiresAt !== null && current.expiresAt <= now) return undefined;
    if (current.parent === null) return { raw, hash, record };
    current = storage.tokens.get(current.parent);
  }
  return undefined; // the parent was revoked, or the chain is absurdly deep
}

/** Revokes a token and, as Vault does, every token created under it. The caller commits the storage. */
export function revokeToken(storage: Storage, hash: string): void {
  const doomed = [hash];
  for (let i = 0; i < doomed.length; i++) {
    const parent = doomed[i];
    for (const [child, record] of storage.tokens) if (record.parent === parent) doomed.push(child);
  }
  for (const token of doomed) storage.tokens.delete(token);
}

function remainingSeconds(record: TokenRecord, now: number): number {
  return record.expiresAt === null ? 0 : Math.max(0, Math.floor((record.expiresAt - now) / 1000));
}

/** The `data` of Vault's lookup-self answer. */
export function lookupData(token: ResolvedToken, now = Date.now()): Record<string, unknown> {
  const { record } = token;
  return {
    accessor: record.accessor,
    creation_time: Math.floor(record.issuedAt / 1000),
    creation_ttl: record.creationTtl,
    display_name: record.displayName,
    entity_id: "",
    expire_time: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
    explicit_max_ttl: 0,
    id: token.raw,
    issue_time: new Date(record.issuedAt).toISOString(),
    meta: record.meta,
    num_uses: 0,
    orphan: record.parent === null,
    path: record.path,
    policies: record.policies,
    renewable: record.renewable,
    ttl: remainingSeconds(record, now),
    type: "service",
  };
}

/** The `auth` block of Vault's token-create, renew and login answers; the lease is counted from `grantedAt`. */
export function authBlock(token: ResolvedToken, grantedAt = token.record.issuedAt): Record<string, unknown> {
  const { record } = token;
  return {
    client_token: token.raw,
    accessor: record.accessor,
    policies: record.policies,
    token_policies: record.policies,
    metadata: record.meta,
    lease_duration: remainingSeconds(record, grantedAt),
    renewable: record.renewable,
    entity_id: "",
    token_type: "service",
    orphan: record.parent === null,
    mfa_requirement: null,
    num_uses: 0,
  };
}
