import { ConfigError } from "../../errors/gateway-error.js";

/**
 * Segment-wise path patterns, shared by the allow-list and the help registry. A pattern is written relative to
 * `/v1/` ("auth/*\/login/**"): a literal segment matches itself exactly (case-sensitive, as Vault's router is),
 * `*` matches exactly one non-empty segment, and a final `**` matches zero or more further segments ("and below").
 * No regex is built, here or per request: matching compares two short arrays.
 */
export interface PathPattern {
  /** The pattern as configured, for messages and listings. */
  readonly source: string;
  /** Literal segments, with `undefined` standing for `*`. */
  readonly segments: readonly (string | undefined)[];
  /** Whether the pattern ended in `**`. */
  readonly andBelow: boolean;
  /** How many literal segments the pattern has: the more, the more specific. */
  readonly literals: number;
}

const PREFIX = "/v1/";

/** Parses a pattern once, when a plugin is built; a pattern that cannot mean what its author thinks is refused. */
export function compilePattern(source: string, key = "pattern"): PathPattern {
  const parts = source.split("/");
  const andBelow = parts[parts.length - 1] === "**";
  if (andBelow) parts.pop();
  if (source === "" || parts.length === 0) throw new ConfigError(`${key}: "${source}" is empty`);
  const segments: (string | undefined)[] = [];
  let literals = 0;
  for (const part of parts) {
    // "" would mean "//" or a leading "/", "." and ".." can never reach us (the route stage refuses them), and a
    // "*" inside a segment ("log*") is not supported: each of these would silently never match, or match too much
    if (part === "" || part === "." || part === ".." || part === "**" || (part !== "*" && /[*?#%\\;]/.test(part))) {
      throw new ConfigError(`${key}: "${source}" is not a path pattern (segments, "*" for one, a final "**")`);
    }
    if (part === "*") segments.push(undefined);
    else {
      segments.push(part);
      literals++;
    }
  }
  return { source, segments, andBelow, literals };
}

/** The segments of a validated request path below `/v1/`, or undefined for a path outside it. */
export function pathSegments(path: string): string[] | undefined {
  // the route stage guarantees the prefix; checking again costs nothing and keeps a misordered pipeline closed
  if (!path.startsWith(PREFIX)) return undefined;
  return path.slice(PREFIX.length).split("/");
}

/** Whether request segments (from pathSegments) match a compiled pattern. */
export function matchesPattern(pattern: PathPattern, segments: readonly string[]): boolean {
  const fixed = pattern.segments.length;
  if (pattern.andBelow ? segments.length < fixed : segments.length !== fixed) return false;
  for (let i = 0; i < fixed; i++) {
    const want = pattern.segments[i];
    const got = segments[i] ?? "";
    if (want === undefined ? got === "" : got !== want) return false;
  }
  return true;
}
