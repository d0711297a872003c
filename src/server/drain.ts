import type { Server, ServerResponse } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { responseInFlight, stopTimeoutSweep } from "./node-internals.js";

/** How long a connection found idle at the start of a drain may still bring a request already on its way. */
const IDLE_GRACE_MS = 250;

/** What a listener knows about its connections and requests, for a graceful stop. */
export class ConnectionTracker {
  draining = false;
  private readonly sockets = new Set<Socket>();
  private readonly httpSockets = new Set<Duplex>();

  /** Every accepted socket, before TLS: the ones still in a handshake are closed at the deadline too. */
  trackSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
  }

  /** Every connection HTTP runs on (after the TLS handshake, on https). */
  trackHttpConnection(socket: Duplex): void {
    this.httpSockets.add(socket);
    socket.once("close", () => this.httpSockets.delete(socket));
  }

  /** Once draining, every new response closes its connection when done. */
  trackResponse(res: ServerResponse): void {
    if (this.draining) res.shouldKeepAlive = false;
  }

  /**
   * Closes what has nothing in flight: keep-alive connections between requests (Node's idle list), and connections
   * that never sent a byte, which Node counts as waiting for headers and would keep until the headers timeout.
   */
  private closeIdle(server: Server): void {
    server.closeIdleConnections();
    for (const socket of this.httpSockets) {
      if ((socket as Socket).bytesRead === 0 && responseInFlight(socket) === undefined) socket.destroy();
    }
  }

  /**
   * Stops accepting, lets in-flight requests finish up to `drainMs`, then closes what is left. Responses not yet
   * started say `Connection: close`, and a keep-alive connection is closed once it is idle rather than when its
   * keep-alive timeout ends (an idle connection would otherwise hold the drain open).
   *
   * Idle connections are closed only after a short grace: a request a client sent just before the signal may still
   * sit unread in the socket, and closing the connection as "idle" then would lose it. (Node's own close() closes
   * idle connections at once, which is why the listening socket is closed with net.Server's close here.)
   */
  async drain(server: Server, drainMs: number): Promise<void> {
    if (!server.listening) return;
    this.draining = true;
    for (const socket of this.httpSockets) {
      const res = responseInFlight(socket);
      if (res !== undefined && !res.headersSent) res.shouldKeepAlive = false;
    }
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
    let sweep: NodeJS.Timeout | undefined;
    const grace = setTimeout(
      () => {
        this.closeIdle(server);
        sweep = setInterval(() => this.closeIdle(server), 50);
      },
      Math.min(IDLE_GRACE_MS, drainMs / 2),
    );
    const deadline = setTimeout(() => {
      server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    }, drainMs);
    try {
      await closed;
    } finally {
      clearTimeout(grace);
      clearInterval(sweep);
      clearTimeout(deadline);
      stopTimeoutSweep(server);
    }
  }
}
