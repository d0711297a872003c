import { BackendUnavailableError } from "../../errors/gateway-error.js";

// What an operator needs to see and fix a sealed backend: these always go through.
const ALWAYS_FORWARDED = new Set(["/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/unseal"]);

/**
 * Remembers for a moment that the backend answered 503 (sealed, standby, maintenance), and answers 503 itself
 * meanwhile: a backend that is unsealing or restarting is not stormed by every client retrying at once.
 */
export class BackendCooldown {
  #until = 0;
  constructor(private readonly periodMs: number) {}

  /** Throws the 503 while the backend is cooling down, except for the paths that let an operator unseal it. */
  check(path: string): void {
    if (this.#until === 0 || ALWAYS_FORWARDED.has(path)) return;
    if (performance.now() < this.#until) {
      throw new BackendUnavailableError("the backend is sealed or unavailable, try again later");
    }
    this.#until = 0;
  }

  /** Takes note of the backend's status: a 503 starts the cooldown, any answer below 500 ends it. */
  observe(status: number): void {
    if (status === 503) this.#until = performance.now() + this.periodMs;
    else if (status < 500) this.#until = 0;
  }
}
