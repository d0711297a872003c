import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";

/**
 * A connection handed to Node's HTTP server a second time, with bytes of our choosing in front of what the client
 * sends next (see list-verb.ts). Node documents that any Duplex may be emitted as a connection; this one forwards
 * writes, timeouts, end and destroy to the real socket (the transport) and answers the questions the gateway asks
 * of a socket (peer address, TLS state, client certificate) from it.
 */
export class ReplaySocket extends Duplex {
  readonly transport: Socket;
  private attached = true;
  private readonly onData = (chunk: Buffer) => {
    if (!this.push(chunk)) this.transport.pause(); // resumed in _read: the client cannot outrun the parser
  };
  private readonly onEnd = () => this.push(null);
  private readonly onClose = () => this.destroy();
  private readonly onTimeout = () => this.emit("timeout");

  // what the client-cert stage reads, present only on TLS transports (it tests for getPeerCertificate)
  declare getPeerCertificate?: TLSSocket["getPeerCertificate"];
  declare getProtocol?: TLSSocket["getProtocol"];
  declare getCipher?: TLSSocket["getCipher"];

  constructor(transport: Socket, head: Buffer) {
    super({ allowHalfOpen: true }); // Node's HTTP server decides itself when to end after the client's FIN
    this.transport = transport;
    if (transport instanceof TLSSocket) {
      this.getPeerCertificate = ((detailed?: boolean) =>
        transport.getPeerCertificate(detailed === true)) as TLSSocket["getPeerCertificate"];
      this.getProtocol = () => transport.getProtocol();
      this.getCipher = () => transport.getCipher();
    }
    if (head.length > 0) this.push(head);
    transport.on("data", this.onData);
    transport.on("end", this.onEnd);
    transport.on("close", this.onClose);
    transport.on("timeout", this.onTimeout);
  }

  get encrypted(): boolean {
    return this.transport instanceof TLSSocket;
  }
  get authorized(): boolean {
    return this.transport instanceof TLSSocket && this.transport.authorized;
  }
  get authorizationError(): Error | undefined {
    return this.transport instanceof TLSSocket ? this.transport.authorizationError : undefined;
  }
  get remoteAddress(): string | undefined {
    return this.transport.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.transport.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.transport.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.transport.localAddress;
  }
  get localPort(): number | undefined {
    return this.transport.localPort;
  }

  /** Stops feeding this socket what the client sends; it still writes the responses it owes. */
  stopReading(): void {
    this.transport.off("data", this.onData);
    this.transport.off("end", this.onEnd);
  }

  /** Lets this socket be destroyed without closing the transport, which a successor now owns. */
  release(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stopReading();
    this.transport.off("close", this.onClose);
    this.transport.off("timeout", this.onTimeout);
  }

  setTimeout(ms: number, callback?: () => void): this {
    if (this.attached) this.transport.setTimeout(ms);
    if (callback) this.once("timeout", callback);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.transport.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delayMs?: number): this {
    this.transport.setKeepAlive(enable, delayMs);
    return this;
  }
  /** What Node's server calls after a `Connection: close` response: flush, then close. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  override _read(): void {
    if (this.attached && this.transport.isPaused()) this.transport.resume();
  }
  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.attached) callback(new Error("connection handed over"));
    else if (this.transport.write(chunk, encoding)) callback();
    else this.transport.once("drain", () => callback());
  }
  override _final(callback: (error?: Error | null) => void): void {
    // finished only once the transport flushed: destroying it earlier would drop the end of the response
    if (!this.attached || this.transport.writableFinished) callback();
    else this.transport.end(() => callback());
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const owned = this.attached;
    this.release();
    if (owned) this.transport.destroy();
    callback(error);
  }
}
