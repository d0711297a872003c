import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { listenOnStablePort, tryListen } from "./ports.js";
import { closeServer } from "./servers.js";

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: string;
}

/** The token the test backend accepts at lookup-self (the gateway's test client sends it by default). */
export const TEST_TOKEN = "hvs.test-token-0123456789";

export type Responder = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface TestBackend {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Every request that reached the backend, in arrival order, except the gateway's own token lookups. */
  readonly requests: RecordedRequest[];
  /** The gateway's lookup-self calls, answered like Vault: 200 for TEST_TOKEN, 403 for anything else. */
  readonly lookups: RecordedRequest[];
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
  const lookups: RecordedRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      };
      if (req.url === "/v1/auth/token/lookup-self") {
        lookups.push(recorded);
        return answerLookup(req, res);
      }
      requests.push(recorded);
      current(req, res, body);
    });
  };
  let server = createServer(handle);
  const port = await listenOnStablePort(server); // restart() comes back on it
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get server() {
      return server;
    },
    requests,
    lookups,
    respondWith(next) {
      current = next;
    },
    close: () => closeServer(server),
    async restart() {
      server = createServer(handle);
      const error = await tryListen(server, port);
      if (error !== undefined) throw error;
    },
  };
}

function answerLookup(req: IncomingMessage, res: ServerResponse): void {
  const valid = req.headers["x-vault-token"] === TEST_TOKEN;
  const body = valid
    ? JSON.stringify({ data: { id: TEST_TOKEN, policies: ["root"], ttl: 0 } })
    : JSON.stringify({ errors: ["permission denied"] });
  res.writeHead(valid ? 200 : 403, { "content-type": "application/json" }).end(body);
}
