import { connect, type TLSSocket } from "node:tls";
import { testPki } from "../../helpers/tls.js";
import { parseMessages } from "./wire.js";

export interface RawExchange {
  /** Everything the server sent. */
  readonly bytes: Buffer;
  /** Whether the server closed the connection (rather than the exchange ending on `idleMs`). */
  readonly closedByServer: boolean;
  /**
   * From the first byte written (the TLS handshake done) to the exchange's end: the server's timeouts count from
   * the request's first byte, and a handshake on a loaded machine can take tens of milliseconds of the bound.
   */
  readonly ms: number;
}

export interface RawOptions {
  /** Stop waiting after this long without data from the server (default 2 s: a loaded machine answers late). */
  idleMs?: number;
  /** Give up after this long in all (default 10 s). */
  maxMs?: number;
  /** Pause between chunks (default 0: all written at once). */
  gapMs?: number;
  /** Once this many whole responses have arrived, wait only 50 ms more (for one too many) instead of `idleMs`. */
  responses?: number;
}

/** Opens a TLS connection to 127.0.0.1:port (trusting the test CA only). */
export async function openTls(port: number): Promise<TLSSocket> {
  const socket = connect({ host: "127.0.0.1", port, ca: testPki().ca.cert, servername: "localhost" });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", () => resolve());
    socket.once("error", reject);
  });
  return socket;
}

/**
 * Writes raw bytes over one TLS connection and collects the answer: the way to send what no HTTP client would.
 * The client never half-closes (a FIN makes Node end the connection before slow answers are written).
 */
export async function rawExchange(
  port: number,
  chunks: string | Buffer | ReadonlyArray<string | Buffer>,
  options: RawOptions = {},
): Promise<RawExchange> {
  const socket = await openTls(port);
  const started = performance.now();
  const received: Buffer[] = [];
  const list = typeof chunks === "string" || Buffer.isBuffer(chunks) ? [chunks] : chunks;
  return new Promise((resolve) => {
    let idle: NodeJS.Timeout | undefined;
    let closedByServer = false;
    const done = () => {
      clearTimeout(idle);
      clearTimeout(cap);
      socket.destroy();
      resolve({ bytes: Buffer.concat(received), closedByServer, ms: performance.now() - started });
    };
    let writing = true;
    const armIdle = () => {
      clearTimeout(idle);
      const enough =
        !writing &&
        options.responses !== undefined &&
        parseMessages(Buffer.concat(received), "response", false).messages.length >= options.responses;
      idle = setTimeout(done, enough ? 50 : (options.idleMs ?? 2_000));
    };
    const cap = setTimeout(done, options.maxMs ?? 10_000);
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      armIdle();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closedByServer = true;
      done();
    });
    void (async () => {
      for (const [i, chunk] of list.entries()) {
        if (i > 0 && (options.gapMs ?? 0) > 0) await new Promise((r) => setTimeout(r, options.gapMs));
        if (!socket.destroyed) socket.write(typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk);
      }
      writing = false;
      armIdle();
    })();
  });
}
