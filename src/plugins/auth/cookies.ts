import type { OutgoingHttpHeaders } from "node:http";
import type { ResponseHook } from "../../pipeline/context.js";
import type { TokenCache } from "./cache.js";
import { parseJson } from "./upstream-client.js";

export interface CookieSettings {
  /** The cookie's name (the token source's cookie, "token" by default). */
  readonly name: string;
  /** Whether to mark it Secure; false only for a plain-HTTP development listener. */
  readonly secure: boolean;
}

// RFC 6265 cookie-octets: a value outside them (space, quote, comma, semicolon, backslash) could add attributes
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

/** `token=<t>; HttpOnly; Secure; SameSite=Strict; Path=/v1/; Max-Age=<s>`; no Max-Age makes a session cookie. */
export function tokenCookie(settings: CookieSettings, token: string, maxAgeSeconds: number): string {
  const maxAge = maxAgeSeconds > 0 ? `; Max-Age=${Math.floor(maxAgeSeconds)}` : "";
  return `${settings.name}=${token}; HttpOnly${settings.secure ? "; Secure" : ""}; SameSite=Strict; Path=/v1/${maxAge}`;
}

/** The Set-Cookie that makes a browser drop the token cookie. */
export function clearingCookie(settings: CookieSettings): string {
  return `${settings.name}=; Max-Age=0; Path=/v1/; HttpOnly${settings.secure ? "; Secure" : ""}; SameSite=Strict`;
}

/** Adds a Set-Cookie line, keeping the ones already there (the backend's own cookies go on unchanged). */
export function appendSetCookie(headers: OutgoingHttpHeaders, cookie: string): void {
  const name = Object.keys(headers).find((key) => key.toLowerCase() === "set-cookie") ?? "set-cookie";
  const existing = headers[name];
  const lines = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  headers[name] = [...lines, cookie];
}

const isSuccess = (status: number): boolean => status >= 200 && status < 300;

/**
 * On a successful login answer (`auth.client_token` in the JSON body), sets the token cookie with the lease as
 * Max-Age and remembers the new token as valid, so the client's next request needs no lookup.
 */
export function loginHook(settings: CookieSettings, cache: TokenCache): ResponseHook {
  return {
    wantsBody: true,
    apply(response) {
      if (!isSuccess(response.status) || response.body === undefined) return;
      const login = readLogin(parseJson(response.body));
      if (login === undefined) return;
      cache.prime(login.token, { valid: true, ttlSeconds: login.leaseSeconds, policies: login.policies });
      // a token that cannot be a cookie value is still in the JSON for the client; it just gets no cookie
      if (COOKIE_VALUE.test(login.token)) {
        appendSetCookie(response.headers, tokenCookie(settings, login.token, login.leaseSeconds));
      }
    },
  };
}

/** On a successful revoke-self, forgets the token at once and clears the cookie. */
export function revokeHook(settings: CookieSettings, cache: TokenCache, token: string): ResponseHook {
  return {
    wantsBody: false,
    apply(response) {
      if (!isSuccess(response.status)) return;
      cache.invalidate(token);
      appendSetCookie(response.headers, clearingCookie(settings));
    },
  };
}

interface Login {
  readonly token: string;
  readonly leaseSeconds: number;
  readonly policies: readonly string[];
}

function readLogin(body: unknown): Login | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const auth = (body as { auth?: unknown }).auth;
  if (typeof auth !== "object" || auth === null) return undefined;
  const { client_token: token, lease_duration: lease, policies } = auth as Record<string, unknown>;
  if (typeof token !== "string" || token === "") return undefined;
  const leaseSeconds = typeof lease === "number" && Number.isFinite(lease) && lease > 0 ? lease : 0;
  const names = Array.isArray(policies) ? policies.filter((p): p is string => typeof p === "string") : [];
  return { token, leaseSeconds, policies: names };
}
