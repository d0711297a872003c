import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
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

/**
 * The token id of the last token seen on each connection. A client keeps its connection and sends the same token
 * on every request, so the HMAC runs once per connection instead of once per request: it cost 5-20 µs between I/O
 * events here (OpenSSL 3 looks the digest up on every call), a tenth of a forwarded request's CPU. A token is
 * held no longer than the connection that carried it, and only that connection's next token is compared with it,
 * in constant time (behind a load balancer one connection carries many clients' tokens). The copy kept is its own
 * memory (not a slice of Buffer's shared pool, which would keep other requests' bytes alive), zeroed when the
 * connection closes.
 */
export class ConnectionTokenIds {
  readonly #hash: TokenHasher;
  readonly #last = new WeakMap<Socket, { readonly token: Buffer; readonly id: string }>();

  constructor(hash: TokenHasher) {
    this.#hash = hash;
  }

  idOf(socket: Socket, token: string): string {
    const bytes = Buffer.from(token, "utf8");
    const last = this.#last.get(socket);
    if (last !== undefined && last.token.length === bytes.length && timingSafeEqual(last.token, bytes)) return last.id;
    const id = this.#hash(token);
    const kept = Buffer.allocUnsafeSlow(bytes.length);
    bytes.copy(kept);
    if (last === undefined) socket.once("close", () => this.#forget(socket));
    else last.token.fill(0);
    this.#last.set(socket, { token: kept, id });
    return id;
  }

  #forget(socket: Socket): void {
    this.#last.get(socket)?.token.fill(0);
    this.#last.delete(socket);
  }
}
