import { posix } from "node:path";
import { parse as legacyParse } from "node:url";
import fc from "fast-check";
import { DEFAULT_RATE_LIMIT_RULES } from "../../../src/config/schema.js";
import { GatewayError } from "../../../src/errors/gateway-error.js";
import { createPathList, DEFAULT_ALLOW_LIST, DEFAULT_LOGIN_PATHS } from "../../../src/plugins/auth/allow-list.js";
import { classifyTarget, type RequestTarget } from "../../../src/plugins/route/request-target.js";
import { compileRules, matchRules } from "../../../src/ratelimit/rules.js";

// The model behind the path property tests (test/plugins/route, test/hardening/paths.test.ts and the long run in
// scripts/hardening/paths.ts): generated request targets full of the pieces that make parsers disagree, and the
// readings a backend could make of what the gateway forwards.

const PIECES = [
  ...["v1", "V1", "secret", "sys", "health", "auth", "userpass", "token", "login", "lookup-self", "foo", "a"],
  ...[".", "..", "...", "%2e", "%2E", "%2e%2e", ".%2e", "%2e.", "%252e", "%25%32e", "%%32e", "%c0%ae", "%u002e"],
  ...["%2f", "%2F", "%5c", "%5C", "\\", ";", "%3b", ";x=1", "%00", "%0a", "%0d", "%09", "%7f", "%20", "+", "%2b"],
  ...["log%69n", "%6c%6f%67%69%6e", "se%63ret", "%7e", "~", "%", "%g1", "%2", "%25", "%2525", "é", "%C3%A9"],
  ...["%EF%BC%8E", "%EF%BC%8F", "%EF%BD%93ys", "%C2%85", "%E2%80%A8", "%ff", "%C3", "e%CC%81", "%E2%82%AC"],
  ...["#", "?", "@", ":", "*", "&", "=", "$", "!", "'", "(", ")", ",", "`", "{", "|", "^", '"', "<"],
];
const HOSTILE_PREFIXES = [
  ...["/V1/", "/v1", "//v1/", "/%76%31/", "/v%31/", "/v2/", "/", "", "/./v1/", "/v1/./", "/x/../v1/", "\\v1\\"],
  ...["/v1%2f", "http://gw/v1/", "https://gw:8200/v1/", "*", "//gw/v1/", "/%2e/v1/", "/v1/%2e%2e/"],
];
const SEPARATORS = ["/", "/", "/", "/", "/", "/", "/", "/", "/", "/", "/", "/", "//", "\\", "%2f", "/./", "/../"];
const GOOD_QUERY = ["a=1", "list=true", "b=%20", "x=%2e%2e/..", "c=;", "d=/x", "e=?f", ""];
const QUERY_PIECES = [...GOOD_QUERY, ...GOOD_QUERY, ...GOOD_QUERY, "g=%zz", "#frag", "k=é"];
// what real secret names look like: letters, digits, "-_.~", escapes of those, and some Unicode
const NAME_UNITS = [
  ..."abcdefghijklmnopqrstuvwxyzABC0123456789-_.~",
  "%41",
  "%6c",
  "%7E",
  "%2D",
  "%C3%A9",
  "%E2%82%AC",
];

const segment = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom(...NAME_UNITS), minLength: 1, maxLength: 8 }) },
  { weight: 3, arbitrary: fc.constantFrom(...PIECES) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...PIECES), { minLength: 2, maxLength: 3 }).map((p) => p.join("")) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(..."abc.%2eEfF/\\;0~-_"), maxLength: 6 }) },
);

/** Request targets, most of them under /v1/, many of them hostile. */
export const requestTarget: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constant("/v1/") },
      { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_PREFIXES) },
    ),
    fc.array(fc.tuple(segment, fc.constantFrom(...SEPARATORS)), { maxLength: 6 }),
    fc.option(fc.array(fc.constantFrom(...QUERY_PIECES), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  )
  .map(([prefix, parts, query]) => {
    const path = prefix + parts.map(([s, sep], i) => (i === parts.length - 1 ? s : s + sep)).join("");
    return query === undefined ? path : `${path}?${query.join("&")}`;
  });

/** The table the tests and the long run share: targets any implementation must refuse. */
export const MUST_REFUSE: ReadonlyArray<readonly [target: string, status: number, why: string]> = [
  ["/v1/auth/userpass/login/%2e%2e/%2e%2e/secret/foo", 400, "escaped dot segments"],
  ["/v1/auth/userpass/login/../../secret/foo", 400, "dot segments"],
  ["/v1/secret/.%2e/sys/health", 400, "half-escaped dot segment"],
  ["/v1/secret;/foo", 400, "matrix parameter"],
  ["/v1/sys/health;.js", 400, "suffix after ;"],
  ["/v1/secret\\..\\sys", 400, "backslash"],
  ["/v1/secret%5c..%5csys", 400, "escaped backslash"],
  ["/v1//secret/foo", 400, "empty segment"],
  ["/v1/secret%2ffoo", 400, "escaped slash"],
  ["/V1/secret/foo", 404, "prefix in another case"],
  ["/v1/secret/foo%00", 400, "trailing NUL"],
  ["/v1/secret/foo%00.json", 400, "NUL before a suffix"],
  ["/v1/secret/%252e%252e/sys", 400, "double-encoded dots"],
  ["/v1/secret/%25%32%65", 400, "double-encoded dot, spelled in parts"],
  ["http://gateway/v1/secret/foo", 400, "absolute-form target"],
  ["https://evil.example/v1/sys/health", 400, "absolute-form target to another host"],
  ["//evil.example/v1/secret/foo", 400, "network-path reference"],
  ["*", 400, "asterisk-form target"],
  ["/v1/secret/foo%", 400, "truncated escape"],
  ["/v1/secret/foo#x", 400, "fragment"],
];

/** What Go's url.PathUnescape makes of a path (as latin1, one char per byte), or undefined where it fails. */
export function goPathUnescape(path: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c & 0xff); // targets are read as latin1: one char per byte on the wire
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString("latin1");
}

const allowList = createPathList(DEFAULT_ALLOW_LIST);
const loginPaths = createPathList(DEFAULT_LOGIN_PATHS, "auth.loginPaths");
const extraPaths = createPathList(["secret/**", "sys/**", "auth/token/**", "sys/health"], "test");
const rateRules = compileRules([
  ...DEFAULT_RATE_LIMIT_RULES.map((rule) => ({ ...rule, paths: [...rule.paths] })),
  { name: "kv", paths: ["secret/*", "sys/seal*"], key: "token", limit: 1, periodMs: 1000 },
]);

/** Every decision the gateway takes on a path, as a string: equal strings, equal decisions. */
export function decisions(path: string): string {
  const rules = matchRules(rateRules, path).map((rule) => rule.name);
  return JSON.stringify([allowList.matches(path), loginPaths.matches(path), extraPaths.matches(path), rules]);
}

export type Classified = { readonly accepted: RequestTarget } | { readonly refused: number };

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A decoded path (latin1, one char per byte) as UTF-8 text, or undefined if the bytes are not UTF-8. */
function utf8(latin1: string): string | undefined {
  try {
    return STRICT_UTF8.decode(Buffer.from(latin1, "latin1"));
  } catch {
    return undefined;
  }
}

/** The route stage's verdict on a target. */
export function classify(target: string): Classified {
  try {
    return { accepted: classifyTarget(target) };
  } catch (error) {
    if (error instanceof GatewayError) return { refused: error.status };
    throw error;
  }
}

/** The target the proxy forwards for an accepted request. */
export function forwarded(target: RequestTarget): string {
  return target.query === "" ? target.path : `${target.path}?${target.query}`;
}

/**
 * The properties an accepted target must have, as a list of the ones that failed (empty: none). Each one is a way a
 * backend or a second proxy could read the forwarded path differently from the gateway.
 */
export function disagreements(target: string): string[] {
  const verdict = classify(target);
  if (!("accepted" in verdict)) return [];
  const found: string[] = [];
  const { path } = verdict.accepted;
  const sent = forwarded(verdict.accepted);
  if (!path.startsWith("/v1/")) found.push("accepted outside /v1/");
  const again = classify(sent);
  if (!("accepted" in again) || forwarded(again.accepted) !== sent) found.push("canonical form is not a fixed point");
  const decoded = goPathUnescape(path);
  if (decoded === undefined) {
    found.push("backend cannot decode the forwarded path");
    return found;
  }
  // the client's own spelling and ours decode to the same resource
  const rawPath = target.split("?")[0] ?? "";
  if (goPathUnescape(rawPath) !== decoded) found.push("canonicalization changed the decoded resource");
  const segments = decoded.slice("/v1/".length).split("/");
  if (segments.some((s, i) => (s === "" && i !== segments.length - 1) || s === "." || s === "..")) {
    found.push("decoded path has empty or dot segments");
  }
  // controls end strings and log lines early; some servers split or cut on "\" and ";"
  if ([...decoded].some((c) => c < " " || c === "\x7f" || c === "\\" || c === ";")) {
    found.push("decoded path has a control character, \\ or ;");
  }
  if (posix.normalize(decoded) !== decoded) found.push("a path-cleaning backend would change it");
  const twice = goPathUnescape(decoded);
  if (twice !== undefined && twice !== decoded) found.push("a double-decoding backend reads another path");
  const text = utf8(decoded);
  if (text === undefined || text.normalize("NFKC") !== text)
    found.push("a Unicode-normalizing backend reads another path");
  if (decisions(decoded) !== decisions(path)) found.push("a decision on the decoded path differs");
  // the WHATWG reading of the client's target, as a browser-grade URL parser sees it
  const whatwg = new URL(target, "https://gateway.invalid").pathname;
  if (goPathUnescape(whatwg) !== decoded) found.push("WHATWG URL reads another path");
  // http-proxy's era parser, should anything re-read the forwarded target with it (it escapes ' and friends)
  if (goPathUnescape(legacyParse(sent).pathname ?? "") !== decoded) found.push("legacy url.parse reads another path");
  return found;
}
