import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { RequestListener } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";

export interface TlsRow {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A node:https server of a bench row on 127.0.0.1, port 0; `close` ends its connections, then what `also` holds. */
export async function serveTls(
  row: TlsRow,
  handler: RequestListener,
  also: () => Promise<void> | void,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer(
    { cert: readFileSync(row.certFile), key: readFileSync(row.keyFile), keepAliveTimeout: 60_000 },
    handler,
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await also();
    },
  };
}
