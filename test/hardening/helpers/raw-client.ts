import type { TLSSocket } from "node:tls";
import { openTls } from "./raw-tls.js";
import { header, parseMessages, type WireMessage } from "./wire.js";

/**
 * One keep-alive TLS connection that sends raw request bytes and reads back one response at a time, with the
 * strict reader of wire.ts. `request()` resolves with the response, or "closed" when the server closed first.
 */
export class RawHttpClient {
  private socket: TLSSocket | undefined;
  private buffer = Buffer.alloc(0);
  private closed = true;
  private waiting: (() => void) | undefined;

  constructor(private readonly port: number) {}

  async request(bytes: string | Buffer, timeoutMs = 5_000): Promise<WireMessage | "closed"> {
    const reused = !this.closed;
    const response = await this.exchange(bytes, timeoutMs);
    // a kept-alive connection the server closed just before our request: what any client does, try a new one
    if (response === "closed" && reused) return this.exchange(bytes, timeoutMs);
    return response;
  }

  private async exchange(bytes: string | Buffer, timeoutMs: number): Promise<WireMessage | "closed"> {
    if (this.closed) await this.connect();
    this.socket?.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseMessages(this.buffer, "response", this.closed);
      const first = parsed.messages[0];
      if (first !== undefined) {
        this.buffer = this.buffer.subarray(first.size); // what follows belongs to the next request
        if ((header(first, "connection") ?? "").toLowerCase() === "close") this.drop();
        return first;
      }
      if (parsed.error !== undefined) throw new Error(`unreadable response: ${parsed.error}`);
      if (this.closed) return "closed";
      if (Date.now() > deadline) throw new Error("no response in time");
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.drop();
  }

  private drop(): void {
    this.socket?.destroy();
    this.closed = true;
  }

  private async connect(): Promise<void> {
    this.buffer = Buffer.alloc(0);
    const socket = await openTls(this.port);
    this.socket = socket;
    this.closed = false;
    // events of a connection already dropped must not touch its successor
    socket.on("data", (chunk: Buffer) => {
      if (this.socket !== socket) return;
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiting?.();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.closed = true;
      this.waiting?.();
    });
  }
}
