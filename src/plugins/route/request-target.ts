import { BadRequestError, NotFoundError } from "../../errors/gateway-error.js";

export interface RequestTarget {
  /** The canonical path: the one string every stage matches on and the proxy forwards. */
  readonly path: string;
  /** The raw query string, without "?". */
  readonly query: string;
}

export const API_PREFIX = "/v1/";

// Characters allowed raw in a path segment: RFC 3986 pchar without ";" (matrix parameters, which some servers
// strip before routing and others do not). "%" only as the start of an escape, checked separately.
const RAW_PCHAR = /^[A-Za-z0-9\-._~!$&'()*+,=:@%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;
// "%25" followed by two hex digits: an escape of an escape ("%252e"). A backend, framework or WAF that decodes twice
// reads it as "%2e" and then "." -- one reading that differs from ours, which is all a bypass needs.
const DOUBLE_ESCAPE = /%25[0-9A-Fa-f]{2}/;
const MAX_TARGET_LENGTH = 8192;
// A path under /v1/ already in its one spelling: raw pchars only (no escape to decode), no empty segment but a
// trailing "/", no dot segment. Most requests are such paths, and one test replaces the split and the per-segment
// checks below, which then see only the rest.
const CANONICAL_PATH =
  /^\/v1\/(?:(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+\/)*(?:(?!\.\.?$)[A-Za-z0-9\-._~!$&'()*+,=:@]+)?$/;
const NON_ASCII_ESCAPE = /%[89A-F][0-9A-F]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });
// C1 controls and the Unicode line and paragraph separators: line breaks to some log and text tools
const UNICODE_CONTROLS = /[\u0080-\u009f\u2028\u2029]/;

/**
 * Classifies a request target once, strictly, so that no two readers of it can disagree.
 *
 * Only origin-form targets under "/v1/" pass. Dot segments, empty segments (but a trailing "/"), "\", ";",
 * NUL and controls are refused rather than resolved: a path like `/v1/auth/x/login/../../secret/foo` would be
 * allow-listed on one reading and forwarded as a secret read on another. Escapes of characters that may stand raw
 * are decoded (`log%69n` is `login`), and the rest are kept upper-cased, so that one resource has one spelling
 * and a rate-limit or allow-list rule cannot be sidestepped by spelling it differently.
 */
export function classifyTarget(target: string): RequestTarget {
  if (target.length > MAX_TARGET_LENGTH) throw new BadRequestError("request target too long");
  if (!target.startsWith("/")) throw new BadRequestError("request target must be an absolute path");
  const q = target.indexOf("?");
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q + 1);
  if (!QUERY_CHARS.test(query) || !validEscapes(query)) throw new BadRequestError("malformed query string");

  if (CANONICAL_PATH.test(rawPath)) return { path: checkedScheme(rawPath), query };
  return { path: readPath(rawPath), query };
}

/** The path read segment by segment: what CANONICAL_PATH vouches for at once, and every other spelling. */
export function readPath(rawPath: string): string {
  const segments = rawPath.slice(1).split("/");
  const canonical: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? "";
    const last = i === segments.length - 1;
    if (segment === "" && !last) throw new BadRequestError("empty path segment");
    if (!RAW_PCHAR.test(segment)) throw new BadRequestError("invalid character in path");
    const decoded = canonicalSegment(segment);
    if (decoded === "." || decoded === "..") throw new BadRequestError("dot segments are not allowed in paths");
    canonical.push(decoded);
  }
  const path = `/${canonical.join("/")}`;
  if (!path.startsWith(API_PREFIX)) throw new NotFoundError();
  return checkedScheme(path);
}

function checkedScheme(path: string): string {
  // http-proxy's urlJoin rewrites the first "http:/" or "https:/" of a path into "http://": the backend would be
  // sent another path than the one authorized and rate-limited here
  if (path.includes("http:/") || path.includes("https:/")) throw new BadRequestError("a URL scheme inside a path");
  return path;
}

function validEscapes(text: string): boolean {
  for (let at = text.indexOf("%"); at !== -1; at = text.indexOf("%", at + 1)) {
    if (!/^[0-9A-Fa-f]{2}$/.test(text.slice(at + 1, at + 3))) return false;
  }
  return true;
}

/**
 * Decodes escapes of characters that may stand raw, upper-cases the rest; refuses escapes that change structure and
 * escapes of escapes.
 */
function canonicalSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  if (!validEscapes(segment)) throw new BadRequestError("malformed percent-escape in path");
  const canonical = segment.replace(ESCAPE, (_, hex: string) => {
    const code = Number.parseInt(hex, 16);
    const char = String.fromCharCode(code);
    // ".", "/", "\" and ";" change how the path splits; NUL and controls end strings or logs early
    if (char === "." || char === "/" || char === "\\" || char === ";" || code < 0x20 || code === 0x7f) {
      throw new BadRequestError("percent-escape of a reserved character in path");
    }
    return code < 0x80 && RAW_PCHAR.test(char) && char !== "%" ? char : `%${hex.toUpperCase()}`;
  });
  // checked on the result, so that "%25%32e" (which becomes "%252e" here) cannot slip past either
  if (DOUBLE_ESCAPE.test(canonical)) throw new BadRequestError("double percent-encoding in path");
  if (NON_ASCII_ESCAPE.test(canonical)) checkUnicode(canonical);
  return canonical;
}

/**
 * Escaped bytes beyond ASCII must spell valid UTF-8 in its normalized (NFKC) form: "%C0%AE" is an overlong "." to
 * lenient decoders, and "%EF%BC%8E" (fullwidth full stop) or fullwidth letters become ".", "/" or another name in a
 * backend that normalizes Unicode. One resource keeps one spelling across the two.
 */
function checkUnicode(canonicalSegment: string): void {
  const bytes = Buffer.from(
    canonicalSegment.replace(ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    "latin1",
  );
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new BadRequestError("percent-escapes in path are not valid UTF-8");
  }
  if (text.normalize("NFKC") !== text || UNICODE_CONTROLS.test(text)) {
    throw new BadRequestError("non-canonical Unicode in path");
  }
}
