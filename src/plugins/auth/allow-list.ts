import { compilePattern, matchesPattern, type PathPattern, pathSegments } from "./path-pattern.js";

/**
 * Paths that need no token: the login endpoints of every auth backend (and anything below them, as userpass puts
 * the user name there), and the seal/health endpoints a sealed or fresh store must answer anonymously.
 */
export const DEFAULT_ALLOW_LIST: readonly string[] = ["auth/*/login/**", "sys/health", "sys/seal-status", "sys/unseal"];

/** The login endpoints whose successful answers get the token cookie. */
export const DEFAULT_LOGIN_PATHS: readonly string[] = ["auth/*/login/**"];

export interface PathList {
  /** The patterns as configured. */
  readonly patterns: readonly string[];
  /** Whether a validated request path (e.g. "/v1/sys/health") matches one of the patterns. */
  matches(path: string): boolean;
}

/**
 * Compiles a list of path patterns once (see path-pattern.ts for the syntax); a bad pattern is a ConfigError naming
 * `key`. Matching is on ctx.path, which the route stage has already validated: no dot segments, no encoded
 * slashes or dots, no "//", so a look-alike ("auth/userpass/loginx", "sys/healthx") can only fail to match.
 * @example
 * const anonymous = createPathList(["auth/*\/login/**", "sys/health"], "auth.allowList");
 * anonymous.matches("/v1/auth/userpass/login/alice"); // true
 */
export function createPathList(patterns: readonly string[] = DEFAULT_ALLOW_LIST, key = "auth.allowList"): PathList {
  const compiled: PathPattern[] = patterns.map((pattern, i) => compilePattern(pattern, `${key}[${i}]`));
  return {
    patterns: [...patterns],
    matches(path) {
      const segments = pathSegments(path);
      return segments !== undefined && compiled.some((pattern) => matchesPattern(pattern, segments));
    },
  };
}
