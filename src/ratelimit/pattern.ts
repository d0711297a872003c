// Path patterns of rate-limit rules, matched against the normalized path after "/v1/" (route already removed dot
// segments and doubled slashes, so "secret/../sys" cannot sneak past a pattern). The syntax, segment by segment:
//
//   "*"            alone:              every path
//   "*" segment    not the last one:   exactly one segment         "auth/*/login"  matches auth/userpass/login
//   "*" segment    the last one:       one or more segments        "secret/*"      matches secret/a and secret/a/b
//   "*" in a segment                   any characters in that one  "sys/seal*"     matches sys/seal-status
//   anything else                      itself, exactly, case-sensitive
//
// A pattern without a trailing "*" matches the path exactly: "auth/*/login" does not match the userpass form
// "auth/userpass/login/alice"; list both ("auth/*/login", "auth/*/login/*") to cover every login method.

/** Why a pattern cannot be used, or undefined when it is fine. */
export function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== "string" || pattern === "") return "must be a non-empty string";
  if (pattern.startsWith("/"))
    return `"${pattern}" must be relative to /v1/, e.g. "secret/*" rather than "/v1/secret/*"`;
  if (/[\s?#]/.test(pattern)) return `"${pattern}" may not contain whitespace, "?" or "#"`;
  if (pattern.split("/").some((segment) => segment === "")) return `"${pattern}" has an empty segment`;
  if (pattern.includes("**")) return `"${pattern}": "**" means nothing more than "*" here; write "*"`;
  return undefined;
}

/** What a compiled pattern does: tell whether a path (after "/v1/") matches. A RegExp is one. */
export interface PathMatcher {
  test(path: string): boolean;
}

// "*" alone is the usual pattern of a gateway-wide rule: no regular expression to run on every request
const EVERY_PATH: PathMatcher = { test: () => true };

/** Compiles a pattern that passed patternProblem into an anchored regular expression (or "every path"). */
export function compilePattern(pattern: string): PathMatcher {
  if (pattern === "*") return EVERY_PATH;
  const segments = pattern.split("/");
  const parts = segments.map((segment, index) => {
    if (segment === "*") return index === segments.length - 1 ? ".+" : "[^/]+";
    return segment.split("*").map(escapeRegExp).join("[^/]*");
  });
  return new RegExp(`^${parts.join("/")}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
