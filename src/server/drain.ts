import type { Server, ServerResponse } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { responseInFlight, stopTimeoutSweep } from "./node-internals.js";

/** How long a connection found idle at the start of a drain may still bring a request already on its way. */
const IDLE_GRACE_MS = 250;

/**
 * Most connections a drain takes before it closes the listening socket: the accept queue holds at most the listen
 * backlog (Node's default, which listen.ts keeps), so more than that arrived after the drain began.
 */
const ACCEPT_QUEUE_BOUND = 511;

/**
 * How long the drain waits, once a poll found the accept queue empty, before it looks a last time, and for how long
 * in all it goes on looking (clients that reconnect after their `Connection: close` must not keep it open). A
 * node:cluster worker is handed its connections by the primary one at a time, over IPC: a poll can find none while
 * the primary's queue still holds some. The wait counts from the empty poll, not from the last connection taken: a
 * worker busy meanwhile did not read the primary's next handover either.
 */
const ACCEPT_QUIET_MS = 20;
const ACCEPT_QUIET_MAX_MS = 100;

/** What a listener knows about its connections and requests, for a graceful stop. */
export class ConnectionTracker {
  draining = false;
  /** Set when the drain's deadline passed: a connection accepted after it is closed at once. */
  private pastDeadline = false;
  private drained: Promise<void> | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections accepted so far. */
  private arrivals = 0;
  /** Each HTTP connection, with when it became one (performance.now()). */
  private readonly httpSockets = new Map<Duplex, number>();

  /** Every accepted socket, before TLS: the ones still in a handshake are closed at the deadline too. */
  trackSocket(socket: Socket): void {
    this.arrivals++;
    if (this.pastDeadline) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  /** Every connection HTTP runs on (after the TLS handshake, on https). */
  trackHttpConnection(socket: Duplex): void {
    this.httpSockets.set(socket, performance.now());
    socket.once("close", () => this.httpSockets.delete(socket));
  }

  /** Once draining, every new response closes its connection when done. */
  trackResponse(res: ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
  }

  /**
   * Closes what has nothing in flight: keep-alive connections between requests (Node's idle list), and connections
   * silent since their handshake for `silentMs`, which Node counts as waiting for headers and would keep until the
   * headers timeout. (A connection that has only just finished its handshake is about to send its request.)
   */
  private closeIdle(server: Server, silentMs: number): void {
    server.closeIdleConnections();
    const now = performance.now();
    for (const [socket, since] of this.httpSockets) {
      const silent = (socket as Socket).bytesRead === 0 && responseInFlight(socket) === undefined;
      if (silent && now - since >= silentMs) socket.destroy();
    }
  }

  /**
   * Resolves once a fresh poll, ACCEPT_QUIET_MS after one that found the accept queue empty, finds it empty again.
   * libuv takes one connection per loop iteration (since 1.45), so a queue of n connections needs n iterations, and
   * a starved process that closed its listening socket at once would reset every connection still queued.
   * Connections that arrive meanwhile are taken too and served once with `Connection: close`; the window ends
   * ACCEPT_QUIET_MAX_MS after the first empty poll, after ACCEPT_QUEUE_BOUND connections, or at `until`, whichever
   * comes first.
   */
  private async takeQueuedConnections(until: number): Promise<void> {
    const bound = this.arrivals + ACCEPT_QUEUE_BOUND;
    let emptySince: number | undefined;
    let waited = false;
    for (;;) {
      const before = this.arrivals;
      await afterFreshPoll();
      const now = performance.now();
      if (this.arrivals >= bound || this.pastDeadline || now >= until) return;
      if (this.arrivals !== before) {
        waited = false; // took one: the queue may hold more
        continue;
      }
      emptySince ??= now;
      if (waited || now - emptySince >= ACCEPT_QUIET_MAX_MS) return;
      const waitMs = Math.min(ACCEPT_QUIET_MS, emptySince + ACCEPT_QUIET_MAX_MS - now, until - now);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waited = true;
    }
  }

  /**
   * Takes what waits in the accept queue and stops accepting, lets in-flight requests finish up to `drainMs`, then
   * closes what is left (a connection accepted after that deadline is closed at once). Responses not yet
   * started say `Connection: close`, and a keep-alive connection is closed once it is idle rather than when its
   * keep-alive timeout ends (an idle connection would otherwise hold the drain open).
   *
   * Nothing a client sent before the drain began is lost to it, even when the process is starved of CPU:
   * - the listening socket is closed only once the kernel's accept queue is empty (see takeQueuedConnections), so
   *   connections the kernel had already accepted are served rather than reset with the listening socket (with
   *   node:cluster workers the primary holds that queue and hands connections over one at a time, which the quiet
   *   window waits for; what it still holds when the last worker stops is reset);
   * - idle connections are closed only after a short grace, and each sweep closes them only after the loop has read
   *   what their sockets hold: a timer runs before the poll phase, so a request sent just before the sweep (or while
   *   the process was starved) would otherwise still sit unread, and the connection be closed as "idle" with it;
   * - a connection that finished its TLS handshake during the drain (it was queued or mid-handshake when the drain
   *   began) gets the same grace for its first request.
   * (Node's own close() closes idle connections at once, which is why the listening socket is closed with
   * net.Server's close here.)
   */
  drain(server: Server, drainMs: number): Promise<void> {
    // a second stop() while the first drains (the listener is still open in its accept window) joins it
    this.drained ??= this.runDrain(server, drainMs);
    return this.drained;
  }

  private async runDrain(server: Server, drainMs: number): Promise<void> {
    if (!server.listening) return;
    this.draining = true;
    for (const socket of this.httpSockets.keys()) {
      const res = responseInFlight(socket);
      if (res !== undefined && !res.headersSent) res.shouldKeepAlive = false;
    }
    const graceMs = Math.min(IDLE_GRACE_MS, drainMs / 2);
    const closeIdleAfterPoll = () => void afterFreshPoll().then(() => this.closeIdle(server, graceMs));
    let sweep: NodeJS.Timeout | undefined;
    const grace = setTimeout(() => {
      closeIdleAfterPoll();
      sweep = setInterval(closeIdleAfterPoll, 50);
    }, graceMs);
    const deadline = setTimeout(() => {
      this.pastDeadline = true;
      server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    }, drainMs);
    try {
      await this.takeQueuedConnections(performance.now() + drainMs / 2);
      await new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    } finally {
      clearTimeout(grace);
      clearInterval(sweep);
      clearTimeout(deadline);
      stopTimeoutSweep(server);
    }
  }
}

/**
 * Resolves once the loop has run a poll phase that began after this call: by then the bytes every socket held at
 * the call have been read, and the accept queue's first connection taken (libuv takes one per poll). One
 * setImmediate is not enough when called from the poll phase (or its microtasks): it runs in the check phase right
 * after that poll, whose events were gathered before the call; the second one runs after the next poll.
 */
function afterFreshPoll(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
