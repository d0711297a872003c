import { connect, createServer, type Socket } from "node:net";
import { closeServer, listen } from "../../helpers/servers.js";

export interface RecordedConnection {
  /** The bytes the gateway sent on this upstream connection. */
  readonly chunks: Buffer[];
  /** Whether the gateway closed it (a partial request on a closed connection is discarded by any backend). */
  closed: boolean;
}

export interface RecordingProxy {
  readonly url: string;
  readonly connections: RecordedConnection[];
  /** Marks where each connection's stream is now; `since(mark)` returns only what was sent after it. */
  mark(): number[];
  since(mark: readonly number[]): Array<{ bytes: Buffer; closed: boolean }>;
  close(): Promise<void>;
}

/**
 * A TCP relay between the gateway and a backend that records every byte the gateway sends, per connection: the
 * ground truth for "what did the backend receive", independent of how any HTTP parser reads it.
 */
export async function startRecordingProxy(backendPort: number): Promise<RecordingProxy> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const recorded: RecordedConnection = { chunks: [], closed: false };
    connections.push(recorded);
    const upstream = connect(backendPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      recorded.chunks.push(chunk);
      upstream.write(chunk);
    });
    client.on("close", () => {
      recorded.closed = true;
      upstream.end();
    });
    upstream.pipe(client);
  });
  const port = await listen(server);
  const length = (c: RecordedConnection) => c.chunks.reduce((n, chunk) => n + chunk.length, 0);
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    mark: () => connections.map(length),
    since: (mark) =>
      connections.map((c, i) => ({ bytes: Buffer.concat(c.chunks).subarray(mark[i] ?? 0), closed: c.closed })),
    async close() {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}
