import { badRequest } from "./http.js";

export const CAPABILITIES = ["create", "read", "update", "delete", "list", "sudo", "deny"] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** A named ACL policy: its text as written, and its rules (path pattern -> capabilities). */
export interface Policy {
  readonly name: string;
  readonly text: string;
  readonly rules: ReadonlyMap<string, ReadonlySet<Capability>>;
}

/** Vault's legacy `"policy": "read"` shorthand, still accepted by Vault. */
const SHORTHAND: Record<string, readonly Capability[]> = {
  deny: ["deny"],
  read: ["read", "list"],
  write: ["create", "read", "update", "delete", "list"],
  sudo: ["create", "read", "update", "delete", "list", "sudo"],
};

/** Built in, like Vault's: what every token may do with itself. */
export const DEFAULT_POLICY_TEXT = JSON.stringify(
  {
    path: {
      "auth/token/lookup-self": { capabilities: ["read"] },
      "auth/token/renew-self": { capabilities: ["update"] },
      "auth/token/revoke-self": { capabilities: ["update"] },
      "sys/capabilities-self": { capabilities: ["update"] },
    },
  },
  null,
  2,
);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Parses the JSON form of Vault's policy language (`{"path": {"secret/*": {"capabilities": ["read"]}}}`).
 * HCL is not accepted: parsing it would need a dependency this dev store does not carry.
 */
export function parsePolicy(name: string, text: string): Policy {
  const fail = (why: string) => badRequest(`failed to parse policy: ${why}`);
  let document: unknown;
  try {
    document = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw fail("the devstore reads only the JSON form of the policy syntax, and this is not valid JSON");
  }
  if (!isRecord(document)) throw fail("the policy must be a JSON object");
  const paths = document.path ?? {};
  if (!isRecord(paths)) throw fail(`"path" must be an object of path patterns`);
  const rules = new Map<string, ReadonlySet<Capability>>();
  for (const [pattern, rule] of Object.entries(paths)) {
    if (!isRecord(rule)) throw fail(`path "${pattern}": the rule must be an object`);
    if (pattern.slice(0, -1).includes("*")) throw fail(`path "${pattern}": "*" is allowed only at the end`);
    const granted = new Set<Capability>();
    const listed = rule.capabilities ?? [];
    if (!Array.isArray(listed)) throw fail(`path "${pattern}": "capabilities" must be a list`);
    for (const capability of listed) {
      if (!(CAPABILITIES as readonly unknown[]).includes(capability)) {
        throw fail(`path "${pattern}": invalid capability ${JSON.stringify(capability)}`);
      }
      granted.add(capability as Capability);
    }
    if (rule.policy !== undefined) {
      const shorthand = typeof rule.policy === "string" ? SHORTHAND[rule.policy] : undefined;
      if (shorthand === undefined) throw fail(`path "${pattern}": invalid policy ${JSON.stringify(rule.policy)}`);
      for (const capability of shorthand) granted.add(capability);
    }
    rules.set(pattern, granted.has("deny") ? new Set(["deny"]) : granted);
  }
  return { name, text, rules };
}

/**
 * The capabilities that a set of policies grants on one path, as Vault computes them: the rules of all the
 * policies are merged per pattern (deny wins), then an exact pattern beats a glob and a longer glob beats a
 * shorter one. `["root"]` for the root policy, `["deny"]` when nothing applies.
 */
export function capabilitiesOn(
  policies: ReadonlyMap<string, Policy>,
  names: readonly string[],
  path: string,
): readonly string[] {
  if (names.includes("root")) return ["root"];
  let exact: Set<Capability> | undefined;
  let glob: { prefix: string; granted: Set<Capability> } | undefined;
  for (const name of names) {
    const policy = policies.get(name);
    if (policy === undefined) continue; // Vault ignores policies that do not exist (yet)
    for (const [pattern, granted] of policy.rules) {
      if (pattern === path) {
        exact = merge(exact, granted);
      } else if (pattern.endsWith("*")) {
        const prefix = pattern.slice(0, -1);
        if (!path.startsWith(prefix)) continue;
        if (glob === undefined || prefix.length > glob.prefix.length) glob = { prefix, granted: new Set(granted) };
        else if (prefix.length === glob.prefix.length) glob.granted = merge(glob.granted, granted);
      }
    }
  }
  const granted = exact ?? glob?.granted;
  if (granted === undefined || granted.size === 0 || granted.has("deny")) return ["deny"];
  return [...granted].sort();
}

function merge(into: Set<Capability> | undefined, granted: ReadonlySet<Capability>): Set<Capability> {
  const merged = new Set([...(into ?? []), ...granted]);
  return merged.has("deny") ? new Set(["deny"]) : merged;
}

/** Whether `capabilities` (an answer of capabilitiesOn) include every one of `needed`. */
export function grants(capabilities: readonly string[], needed: readonly Capability[]): boolean {
  if (capabilities.includes("root")) return true;
  return needed.every((capability) => capabilities.includes(capability));
}
