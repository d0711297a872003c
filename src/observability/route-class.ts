import type { RequestContext } from "../pipeline/context.js";

// Under these the second segment names an auth method or a system endpoint (auth/token, sys/health); under any
// other mount it is the caller's own data (secret/<key>), which must never become a label.
const TWO_SEGMENT_MOUNTS = new Set(["auth", "sys", "identity"]);
const MAX_LABEL_LENGTH = 64;

/**
 * The route class of a normalized path, for metric labels: "sys/health", "auth/token", "secret". Never more than
 * two segments, so never a key name or the token of `auth/token/lookup/<token>`.
 */
export function routeClass(path: string): string {
  if (!path.startsWith("/v1/")) return "invalid";
  const [first = "", second = ""] = path.slice(4).split("/");
  if (first === "") return "root";
  const label = TWO_SEGMENT_MOUNTS.has(first) && second !== "" ? `${first}/${second}` : first;
  return label.slice(0, MAX_LABEL_LENGTH);
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "LIST"]);

/** The method as a label: the usual ones, or "other". */
export function methodClass(method: string | undefined): string {
  return method !== undefined && METHODS.has(method) ? method : "other";
}

/**
 * Hands out route classes under a bound. Every label value is a time series kept forever, so a client must not be
 * able to mint them: only a request the gateway accepted (the auth stage let it through, or it reached the backend)
 * may add a new class, and past `max` classes new ones count as "other". Refused paths are "invalid".
 */
export class RouteClasses {
  readonly #seen = new Set<string>();
  readonly #max: number;

  constructor(max = 100) {
    this.#max = max;
  }

  of(ctx: RequestContext): string {
    if (ctx.path === "") return "invalid";
    const label = routeClass(ctx.path);
    if (this.#seen.has(label)) return label;
    const accepted = ctx.logFields.auth !== undefined || ctx.logFields.backendStatus !== undefined;
    if (!accepted || this.#seen.size >= this.#max) return "other";
    this.#seen.add(label);
    return label;
  }
}
