import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  badRequest,
  DevStoreError,
  parseJsonObject,
  permissionDenied,
  type Reply,
  readBody,
  sendJson,
} from "./http.js";
import { findRoute, type Operation } from "./routes/index.js";
import { Seal } from "./seal.js";
import { Storage } from "./storage.js";
import { hashToken, newAccessor, newToken, resolveToken } from "./tokens.js";

export interface DevStoreOptions {
  /** a loopback address; default 127.0.0.1 */
  host?: string;
  /** default 0: the kernel picks a free port */
  port?: number;
  /** default: a fresh random token */
  rootToken?: string;
  /** a JSON file to keep the state in across restarts (written atomically, mode 0600) */
  persistPath?: string;
  /** start sealed; unseal with `unsealKey` through `PUT /v1/sys/unseal` */
  sealed?: boolean;
}

export interface DevStore {
  /** `http://127.0.0.1:PORT`, without a trailing slash */
  url: string;
  rootToken: string;
  unsealKey: string;
  port: number;
  seal(): void;
  close(): Promise<void>;
}

/**
 * Starts a development secret store that speaks a subset of HashiCorp Vault's HTTP API (health, seal, tokens,
 * ACL policies, userpass, KV v1 at `secret/`) over plain HTTP on loopback. It holds secrets in memory, or in
 * one JSON file with `persistPath`; it never logs tokens or secret values.
 *
 * @example
 * const store = await startDevStore();
 * await fetch(`${store.url}/v1/secret/app`, {
 *   method: "POST", headers: { "x-vault-token": store.rootToken }, body: JSON.stringify({ password: "hunter2" }),
 * });
 * await store.close();
 */
export async function startDevStore(options: DevStoreOptions = {}): Promise<DevStore> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host)) {
    throw new Error(`devstore: host "${host}" is not a loopback address; the store speaks plain HTTP`);
  }
  if (options.rootToken === "") throw new Error("devstore: rootToken must not be empty");
  const storage = await Storage.open(options.persistPath);
  const rootToken = options.rootToken ?? newToken();
  installRootToken(storage, rootToken);
  await storage.commit();
  const seal = new Seal(options.sealed ?? false, options.persistPath === undefined ? "inmem" : "file");

  const server = createServer((req, res) => void respond(req, res, storage, seal));
  server.on("clientError", answerClientError);
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    rootToken,
    unsealKey: seal.unsealKey,
    port,
    seal: () => {
      seal.sealed = true;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
      }).then(() => storage.flush());
      return closing;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The root token never expires; a persisted state keeps earlier root tokens, which were handed out. */
function installRootToken(storage: Storage, rootToken: string): void {
  const hash = hashToken(rootToken);
  const existing = storage.tokens.get(hash);
  if (existing?.policies.includes("root") && existing.parent === null && existing.expiresAt === null) return;
  storage.tokens.set(hash, {
    accessor: newAccessor(),
    policies: ["root"],
    path: "auth/token/root",
    displayName: "root",
    meta: null,
    issuedAt: Date.now(),
    creationTtl: 0,
    expiresAt: null,
    renewable: false,
    parent: null,
  });
}

async function respond(req: IncomingMessage, res: ServerResponse, storage: Storage, seal: Seal): Promise<void> {
  try {
    const reply = await dispatch(req, storage, seal);
    sendJson(res, reply.status, reply.body);
  } catch (error) {
    if (error instanceof DevStoreError) sendJson(res, error.status, { errors: error.errors }, error.closeConnection);
    // anything else is our bug; its message may quote a request, so none of it goes to the client
    else sendJson(res, 500, { errors: ["internal error"] });
  }
}

async function dispatch(req: IncomingMessage, storage: Storage, seal: Seal): Promise<Reply> {
  const raw = await readBody(req);
  const url = requestUrl(req.url ?? "/");
  if (!url.pathname.startsWith("/v1/")) throw new DevStoreError(404, []);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.slice("/v1/".length));
  } catch {
    throw badRequest("invalid URL escape in the path");
  }
  const found = findRoute(path);
  if (seal.sealed && !found?.route.whileSealed) throw new DevStoreError(503, ["Vault is sealed"]);
  const presented = presentedToken(req);
  const token = presented === undefined ? undefined : resolveToken(storage, presented);
  if (!found?.route.unauthenticated && token === undefined) throw permissionDenied();
  if (found === undefined) throw new DevStoreError(404, [`no handler for route "${path}". route entry not found.`]);
  const operation = operationOf(req.method, url.searchParams);
  if (operation === undefined || !found.route.operations.includes(operation)) {
    throw new DevStoreError(405, ["unsupported operation"]);
  }
  const body = operation === "POST" || operation === "DELETE" ? parseJsonObject(raw) : {};
  const { route, params } = found;
  return route.handle({ operation, path, params, query: url.searchParams, body, token, storage, seal });
}

function requestUrl(target: string): URL {
  try {
    // prefixing the origin keeps "//host/..." a path, where new URL(url, base) would read it as an authority
    return new URL(target.startsWith("/") ? `http://devstore.invalid${target}` : target);
  } catch {
    throw badRequest("invalid request target");
  }
}

/** `X-Vault-Token`, or `Authorization: Bearer`, which Vault accepts too. */
function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers["x-vault-token"];
  if (typeof header === "string" && header !== "") return header;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  return bearer?.[1];
}

/** Vault's list flag follows Go's strconv.ParseBool. */
const TRUE_VALUES = new Set(["1", "t", "T", "true", "TRUE", "True"]);

function operationOf(method: string | undefined, query: URLSearchParams): Operation | undefined {
  switch (method) {
    case "GET":
      return TRUE_VALUES.has(query.get("list") ?? "") ? "LIST" : "GET";
    case "HEAD":
      return "HEAD";
    case "POST":
    case "PUT":
      return "POST";
    case "DELETE":
      return "DELETE";
    default:
      // The LIST verb never gets here: Node's HTTP parser refuses methods it does not know (see clientError)
      return undefined;
  }
}

/** Requests Node cannot parse (a LIST verb, oversized headers) get a JSON error too, instead of a bare 400. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const message =
    error.code === "HPE_INVALID_METHOD"
      ? "unsupported HTTP method; to list, use GET with ?list=true"
      : (STATUS_CODES[status] ?? "bad request").toLowerCase();
  const payload = JSON.stringify({ errors: [message] });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`,
  );
}
