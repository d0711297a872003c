import { LRUCache } from "lru-cache";
import { ConfigError } from "../../errors/gateway-error.js";
import type { TokenHasher } from "./token-id.js";
import type { TokenVerifier, ValidToken, VerifyResult } from "./verifier.js";

/** How long a token the verifier called valid is spared the lookup budget on its re-checks. */
const VOUCHED_MS = 60 * 60 * 1000;

export interface TokenCacheOptions {
  /** Most tokens remembered as valid (default 10 000; an entry is ~200 bytes). */
  max?: number;
  /** Most tokens remembered as invalid (default 1 000), kept apart so a flood of made-up tokens cannot evict them. */
  negativeMax?: number;
  /** Longest a valid answer is trusted (default 30 s): a token revoked at the backend works at most this long. */
  positiveTtlMs?: number;
  /** How long an invalid answer is trusted (default 5 s): a token made valid meanwhile waits at most this long. */
  negativeTtlMs?: number;
  /** The clock, in milliseconds; tests pass their own. */
  now?: () => number;
}

export interface CheckedToken {
  readonly result: VerifyResult;
  /** The keyed hash of the token, for ctx.identity.tokenId. */
  readonly tokenId: string;
}

interface Entry {
  readonly result: VerifyResult;
  readonly expiresAt: number;
}

/**
 * A verifier's answers, remembered under the keyed hash of the token (never the token), bounded in count and
 * time. Concurrent checks of one token share one verifier call. Outages (the verifier throwing) are never
 * remembered: every waiter of that call gets the error, and the next request asks again.
 */
export class TokenCache {
  readonly #verifier: TokenVerifier;
  readonly #idOf: TokenHasher;
  readonly #positive: LRUCache<string, Entry>;
  readonly #negative: LRUCache<string, Entry>;
  readonly #inflight = new Map<string, Promise<VerifyResult>>();
  /**
   * Tokens the verifier called valid within the last VOUCHED_MS: their re-checks (the positive TTL is short) are
   * not charged to a lookup budget, so clients behind one address with valid tokens never meet it. Only the
   * verifier puts a token here: a client cannot.
   */
  readonly #vouched: LRUCache<string, number>;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;
  #hits = 0;
  #misses = 0;

  constructor(verifier: TokenVerifier, idOf: TokenHasher, options: TokenCacheOptions = {}) {
    this.#verifier = verifier;
    this.#idOf = idOf;
    this.#positive = new LRUCache({ max: positive(options.max ?? 10_000, "auth.cache.max") });
    this.#negative = new LRUCache({ max: positive(options.negativeMax ?? 1_000, "auth.cache.negativeMax") });
    this.#vouched = new LRUCache({ max: this.#positive.max });
    this.#positiveTtlMs = positive(options.positiveTtlMs ?? 30_000, "auth.cache.positiveTtlMs");
    this.#negativeTtlMs = positive(options.negativeTtlMs ?? 5_000, "auth.cache.negativeTtlMs");
    this.#now = options.now ?? (() => performance.now());
  }

  /** The keyed hash standing for a token. */
  idOf(token: string): string {
    return this.#idOf(token);
  }

  /**
   * The verifier's answer for a token, from the cache when it is fresh. Throws what the verifier throws.
   * `tokenId` saves the hash when the caller already has it (it must be idOf(token)). `beforeLookup` runs before a
   * new verifier call is made on this caller's behalf (not when the answer is cached, a call is on its way, or the
   * token was found valid within the hour), and may refuse it by throwing: then check throws that.
   */
  async check(token: string, tokenId = this.#idOf(token), beforeLookup?: () => Promise<void>): Promise<CheckedToken> {
    const cached = this.#fresh(this.#positive, tokenId) ?? this.#fresh(this.#negative, tokenId);
    if (cached !== undefined) {
      this.#hits++;
      return { result: cached.result, tokenId };
    }
    this.#misses++;
    for (;;) {
      const joined = this.#inflight.get(tokenId);
      if (joined === undefined) break;
      try {
        return { result: await joined, tokenId };
      } catch (error) {
        // the call was refused before it began (another caller's budget): ours decides whether we may make it
        if (!(error instanceof LookupRefused)) throw error;
        const settled = this.#fresh(this.#positive, tokenId) ?? this.#fresh(this.#negative, tokenId);
        if (settled !== undefined) return { result: settled.result, tokenId };
      }
    }
    const vouched = this.#vouched.get(tokenId);
    const charged = vouched !== undefined && vouched > this.#now() ? undefined : beforeLookup;
    try {
      return { result: await this.#lookup(tokenId, token, charged), tokenId };
    } catch (error) {
      throw error instanceof LookupRefused ? error.reason : error;
    }
  }

  /** Remembers a token known to be valid without asking (a login just issued it). */
  prime(token: string, result: ValidToken): void {
    const tokenId = this.#idOf(token);
    this.#negative.delete(tokenId);
    this.#positive.set(tokenId, { result, expiresAt: this.#now() + this.#validFor(result) });
    this.#vouched.set(tokenId, this.#now() + VOUCHED_MS);
  }

  /** Forgets a token (it was just revoked through us), including an answer still on its way. */
  invalidate(token: string): void {
    const tokenId = this.#idOf(token);
    this.#positive.delete(tokenId);
    this.#negative.delete(tokenId);
    this.#inflight.delete(tokenId);
    this.#vouched.delete(tokenId);
  }

  /** Forgets everything, e.g. after a static token file was reloaded. */
  clear(): void {
    this.#positive.clear();
    this.#negative.clear();
    this.#inflight.clear();
    this.#vouched.clear();
  }

  /** Checks answered from the cache, and checks that needed the verifier (or joined a call on its way): metrics. */
  get stats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** Entries held, valid and invalid. */
  get size(): number {
    return this.#positive.size + this.#negative.size;
  }

  /**
   * Starts the one verifier call for a token and registers it for later callers. Its answer is stored only if the
   * call is still the registered one: invalidate() or clear() meanwhile means the answer may predate a revocation.
   * `before` runs first, inside the joined call, so checks arriving while it decides join rather than ask again;
   * when it throws, the call is LookupRefused.
   */
  #lookup(tokenId: string, token: string, before?: () => Promise<void>): Promise<VerifyResult> {
    const settle = (): boolean => {
      const current = this.#inflight.get(tokenId) === lookup;
      if (current) this.#inflight.delete(tokenId);
      return current;
    };
    const lookup: Promise<VerifyResult> = this.#ask(token, before).then(
      (result) => {
        if (settle()) {
          const ttl = result.valid ? this.#validFor(result) : this.#negativeTtlMs;
          (result.valid ? this.#positive : this.#negative).set(tokenId, { result, expiresAt: this.#now() + ttl });
          if (result.valid) this.#vouched.set(tokenId, this.#now() + VOUCHED_MS);
          else this.#vouched.delete(tokenId);
        }
        return result;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.#inflight.set(tokenId, lookup);
    return lookup;
  }

  /** The verifier's call, with a synchronous throw turned into a rejection like any other failure. */
  async #ask(token: string, before?: () => Promise<void>): Promise<VerifyResult> {
    if (before !== undefined) {
      try {
        await before();
      } catch (error) {
        throw new LookupRefused(error);
      }
    }
    return this.#verifier.verify(token);
  }

  /** min(positive TTL, the token's own remaining life); a ttl of 0 means the token does not expire. */
  #validFor(result: ValidToken): number {
    const own = result.ttlSeconds === undefined || result.ttlSeconds <= 0 ? Infinity : result.ttlSeconds * 1000;
    return Math.min(this.#positiveTtlMs, own);
  }

  #fresh(cache: LRUCache<string, Entry>, tokenId: string): Entry | undefined {
    const entry = cache.get(tokenId);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#now()) return entry;
    cache.delete(tokenId);
    return undefined;
  }
}

/** A verifier call its caller's `beforeLookup` refused: the checks that joined it try again on their own account. */
class LookupRefused extends Error {
  constructor(readonly reason: unknown) {
    super("token lookup refused", { cause: reason });
  }
}

function positive(value: number, key: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${key}: must be a number > 0`);
  return value;
}
