import { createHash, createHmac } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { LRUCache } from "lru-cache";
import type { ClientIdentity } from "../pipeline/context.js";
import type { CompiledRule } from "./rules.js";

// Key layout: `<prefix>:{<tag>}:<rule name>`, one key per rule and identity, holding one GCRA arrival time.
//
// The part in braces is a Redis Cluster hash tag: only it decides the slot. The tag is the identity the rule counts
// by (`t:<hash>` token, `c:<hash>` cert, `i:<hash>` ip, `g` global), never the whole request, because an ip rule
// must count the same key whatever token a request carries, and a global rule must be one key for every client.
// So all rules of one identity share a slot (burst + daily per token: one slot, one script), while a request that
// mixes identities touches up to four tags. On a single node or Sentinel slots do not matter and RedisLimiter
// sends every key in one script; on Cluster it sends one script per tag (see redis.ts for how a denial in one
// slot is undone in the others). Rules sharing one `{g}` slot is inherent: a global limit is one counter.

export interface KeyOptions {
  /** Namespaces the keys in a shared Redis; default "pc". */
  prefix?: string;
  /**
   * With a secret (the same on every gateway) identities are HMAC'd instead of plainly hashed. Recommended: a plain
   * SHA-256 of an IPv4 address is undone by hashing all 2^32 addresses.
   */
  secret?: string;
  /**
   * Identities whose hash is remembered, per kind (token, cert, ip; default 10 000 each): the busy ones are hashed
   * once, not once a request.
   */
  memo?: number;
}

/** Builds the Redis key of (rule, identity). Keys never hold a token, a cert subject or an address. */
export class KeyBuilder {
  readonly #prefix: string;
  readonly #secret: string | undefined;
  // A hash costs 5-20 µs between I/O events here (OpenSSL 3 looks its digest up on every call): measured as a
  // tenth of a limited request's CPU. Its inputs are token ids (already keyed hashes), cert subjects and
  // addresses, nothing secret, so remembering them holds no credential. One memo per kind, keyed by the value
  // itself: the token id is the same string on every request of a cached token, so the lookup neither builds nor
  // hashes a new string.
  readonly #memos: Readonly<Record<IdentityKind, LRUCache<string, string>>>;

  constructor(options: KeyOptions = {}) {
    this.#prefix = options.prefix ?? "pc";
    this.#secret = options.secret;
    const max = options.memo ?? 10_000;
    this.#memos = { t: new LRUCache({ max }), c: new LRUCache({ max }), i: new LRUCache({ max }) };
  }

  keyFor(rule: CompiledRule, identity: ClientIdentity): string {
    return `${this.#prefix}:{${this.tagFor(rule, identity)}}:${rule.name}`;
  }

  /** A rule keyed by token (or cert) counts by ip when the request has none, e.g. on login paths before auth. */
  tagFor(rule: CompiledRule, identity: ClientIdentity): string {
    if (rule.key === "global") return "g";
    if (rule.key === "token" && identity.tokenId !== undefined) return this.#tag("t", identity.tokenId);
    if (rule.key === "cert" && identity.certSubject !== undefined) return this.#tag("c", identity.certSubject);
    return this.#tag("i", clientNetwork(identity.ip));
  }

  // `<kind>:` + 128 bits of SHA-256: collisions are out of reach, and keys stay short. The kind goes into the hash
  // too, so a token id can never collide with an address.
  #tag(kind: IdentityKind, value: string): string {
    const memo = this.#memos[kind];
    const known = memo.get(value);
    if (known !== undefined) return known;
    const input = `${kind}\0${value}`;
    const digest =
      this.#secret === undefined
        ? createHash("sha256").update(input).digest()
        : createHmac("sha256", this.#secret).update(input).digest();
    const tag = `${kind}:${digest.subarray(0, 16).toString("base64url")}`;
    memo.set(value, tag);
    return tag;
  }
}

/** What a rule counts by, as the first letter of the key's tag: token, cert, ip. */
type IdentityKind = "t" | "c" | "i";

/**
 * What an ip rule counts by: an IPv4 address (also when IPv6-mapped), or the /64 of an IPv6 address, since one
 * subscriber usually holds a whole /64 and could otherwise rotate through 2^64 addresses to dodge its limit.
 */
export function clientNetwork(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIPv4(ip)) return ip;
  const address = ip.split("%", 1)[0] ?? ip; // the zone id names a local interface, not the client
  if (!isIPv6(address)) return ip;
  return `${expandIPv6(address).slice(0, 4).join(":")}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const parse = (part: string): string[] => (part === "" ? [] : part.split(":").flatMap(groupsOf));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}

// An embedded IPv4 tail ("64:ff9b::1.2.3.4") stands for two 16-bit groups.
function groupsOf(part: string): string[] {
  if (!part.includes(".")) return [part];
  const [a = 0, b = 0, c = 0, d = 0] = part.split(".").map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

/** The hash tag of a key as Redis Cluster computes it: the first non-empty `{...}`; undefined means the whole key. */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf("{");
  if (open === -1) return undefined;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}
