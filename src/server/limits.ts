/**
 * Listener limits that have no configuration key yet (config `limits` holds the others); ListenerOptions takes
 * each one, these are the defaults. Proposed keys: limits.handshakeTimeoutMs, limits.maxConnections,
 * limits.maxRequestsPerSocket, limits.maxHeadersCount.
 */
export const LISTENER_DEFAULTS = {
  /**
   * A TLS handshake must end within this (Node's default is 120 s, so a socket that never starts TLS lived two
   * minutes). It is a deadline from accept, not an idle timer: dripping a ClientHello byte by byte does not extend it.
   */
  handshakeTimeoutMs: 10_000,
  /** Open client connections; beyond it new ones are closed at accept. Keep it below the process's `ulimit -n`. */
  maxConnections: 10_000,
  /** Requests one connection carries; the last is answered with `Connection: close` (nginx's keepalive_requests). */
  maxRequestsPerSocket: 1_000,
} as const;

/**
 * How often Node sweeps connections for the headers and request timeouts (30 s by default, so a slowloris
 * connection set to 1.5 s lived 28 s): the timeouts hold to within this.
 */
export const TIMEOUT_SWEEP_MS = 500;
