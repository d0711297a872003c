import { createHmac, randomBytes } from "node:crypto";
import { ConfigError } from "../../errors/gateway-error.js";

/** Turns a token into the keyed hash that stands for it everywhere: cache keys, ctx.identity.tokenId, logs. */
export type TokenHasher = (token: string) => string;

const MIN_SECRET_BYTES = 32;

/**
 * HMAC-SHA256 under a gateway secret, hex. Keyed, so a leaked cache dump or log cannot be tested against guessed
 * tokens offline. Without a configured secret each process draws its own: fine for one process, but processes
 * sharing a Redis (rate limits keyed by tokenId) must be given the same secret so that their tokenIds agree.
 * @example
 * const idOf = createTokenHasher(process.env.PORTCULLIS_SECRET); idOf(token); // "3f1c…" (64 hex digits)
 */
export function createTokenHasher(secret?: string | Uint8Array, key = "auth.secret"): TokenHasher {
  const material = secret === undefined ? randomBytes(MIN_SECRET_BYTES) : Buffer.from(secret);
  if (material.length < MIN_SECRET_BYTES) {
    throw new ConfigError(`${key}: must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  return (token) => createHmac("sha256", material).update(token, "utf8").digest("hex");
}
