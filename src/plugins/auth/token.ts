import type { IncomingHttpHeaders } from "node:http";
import { BadRequestError } from "../../errors/gateway-error.js";

export interface TokenSources {
  /** Header names the client may send its token in, lower case (e.g. x-nomad-token, x-vault-token). */
  readonly headers: readonly string[];
  /** Name of the cookie that may carry the token. */
  readonly cookie: string;
}

export const DEFAULT_TOKEN_SOURCES: TokenSources = { headers: ["x-nomad-token", "x-vault-token"], cookie: "token" };

export interface FoundToken {
  readonly token: string;
  readonly source: "header" | "cookie";
}

// Tokens are opaque, but a character outside printable ASCII or a separator is never part of a real one and would
// let a client smuggle structure (", " joins, header injection) into what we forward.
const TOKEN_PATTERN = /^[\x21-\x7e]{1,512}$/;

/**
 * Finds the client's token: a header wins over the cookie. Two different tokens in one request, a repeated token
 * header, or a malformed token is a 400, never a guess at which one was meant.
 */
export function findToken(
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
  sources: TokenSources,
): FoundToken | undefined {
  const fromHeaders = headerTokens(rawHeaders, sources.headers);
  const fromCookie = cookieValues(headers.cookie, sources.cookie);
  if (fromCookie.length > 1) throw new BadRequestError(`more than one "${sources.cookie}" cookie`);
  const distinct = new Set([...fromHeaders, ...fromCookie]);
  if (distinct.size > 1) throw new BadRequestError("the request carries more than one token");
  const [token] = distinct;
  if (token === undefined) return undefined;
  if (!TOKEN_PATTERN.test(token)) throw new BadRequestError("malformed token");
  return { token, source: fromHeaders.length > 0 ? "header" : "cookie" };
}

/** Values of the token headers, from the raw list: Node joins repeats into "a, b", which must not pass as one token. */
function headerTokens(rawHeaders: readonly string[], names: readonly string[]): string[] {
  const values: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]?.toLowerCase() ?? "";
    if (!names.includes(name)) continue;
    if (seen.has(name)) throw new BadRequestError(`the ${name} header is repeated`);
    seen.add(name);
    values.push((rawHeaders[i + 1] ?? "").trim());
  }
  return values;
}

/** All values of one cookie in a Cookie header (RFC 6265 pairs separated by ";"). */
export function cookieValues(cookieHeader: string | undefined, name: string): string[] {
  if (cookieHeader === undefined) return [];
  const values: string[] = [];
  for (const pair of cookieHeader.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    values.push(value);
  }
  return values;
}

/** The Cookie header without the token cookie, or undefined when nothing else is left to forward. */
export function withoutCookie(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const kept = cookieHeader
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && pair.slice(0, Math.max(0, pair.indexOf("="))).trim() !== name);
  return kept.length > 0 ? kept.join("; ") : undefined;
}
