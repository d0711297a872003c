import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { closeServer, listen } from "./servers.js";

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

export type Responder = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface TestBackend {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Every request that reached the backend, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Replaces how the backend answers. */
  respondWith(responder: Responder): void;
  close(): Promise<void>;
  /** Listens again on the same port after close() (for "backend comes back" tests). */
  restart(): Promise<void>;
}

/** Answers 200 with a small Vault-shaped JSON body that echoes the method and path. */
export const vaultLikeOk: Responder = (req, res) => {
  const body = JSON.stringify({ request_id: "r", lease_duration: 0, data: { method: req.method, url: req.url } });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
};

/** A plain-HTTP backend on loopback that records what reached it and answers as told. */
export async function startBackend(responder: Responder = vaultLikeOk): Promise<TestBackend> {
  let current = responder;
  const requests: RecordedRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      current(req, res, body);
    });
  };
  let server = createServer(handle);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get server() {
      return server;
    },
    requests,
    respondWith(next) {
      current = next;
    },
    close: () => closeServer(server),
    async restart() {
      server = createServer(handle);
      server.listen(port, "127.0.0.1");
      await new Promise((resolve) => server.once("listening", resolve));
    },
  };
}
