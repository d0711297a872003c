import { createServer, type Socket } from "node:net";
import { TEST_TOKEN } from "../../helpers/backend.js";
import { closeServer, listen } from "../../helpers/servers.js";

/** One request as a backend reads it off the wire, with the framing it came in. */
export interface WireRequest {
  readonly method: string;
  readonly url: string;
  /** Lower-case names; a repeated header keeps every value. */
  readonly headers: Record<string, string[]>;
  readonly framing: "none" | "length" | "chunked";
  readonly body: Buffer;
}

export interface RawBackend {
  readonly url: string;
  /** The raw bytes received, one entry per upstream connection, in order of connection. */
  readonly connections: Buffer[];
  /** Every request parsed from those bytes, token lookups left out; bytes that are not HTTP are a parse error. */
  requests(): WireRequest[];
  close(): Promise<void>;
}

/** Answers a request with raw bytes; undefined leaves the request unanswered. */
export type RawResponder = (request: WireRequest, socket: Socket) => string | undefined;

const okJson = (body: string) =>
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

export const echoOk: RawResponder = (request) => okJson(JSON.stringify({ data: { url: request.url } }));

/**
 * A backend on a bare `net` server: it records the exact bytes each upstream connection carried and parses them
 * itself, so a smuggled request shows up as an extra request, whatever any HTTP library would make of it.
 */
export async function startRawBackend(respond: RawResponder = echoOk): Promise<RawBackend> {
  const connections: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const index = connections.push(Buffer.alloc(0)) - 1;
    let answered = 0;
    socket.on("data", (chunk: Buffer) => {
      connections[index] = Buffer.concat([connections[index] as Buffer, chunk]);
      const parsed = parseRequests(connections[index] as Buffer);
      for (const request of parsed.slice(answered)) {
        answered++;
        const answer = isLookup(request) ? okJson(JSON.stringify({ data: { ttl: 0 } })) : respond(request, socket);
        if (answer !== undefined && !socket.destroyed) socket.write(answer);
      }
    });
    socket.on("error", () => {});
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    requests: () => connections.flatMap((bytes) => parseRequests(bytes)).filter((r) => !isLookup(r)),
    close() {
      // a net server has no closeAllConnections(): the gateway's keep-alive connections are ended here
      for (const socket of sockets) socket.destroy();
      return closeServer(server);
    },
  };
}

function isLookup(request: WireRequest): boolean {
  return request.url === "/v1/auth/token/lookup-self" && request.headers["x-vault-token"]?.[0] === TEST_TOKEN;
}

/** Every complete request in `bytes`; a trailing incomplete one is left out, bytes that are not HTTP throw. */
export function parseRequests(bytes: Buffer): WireRequest[] {
  const requests: WireRequest[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf("\r\n\r\n", at);
    if (headEnd === -1) break;
    const [line = "", ...fields] = bytes.toString("latin1", at, headEnd).split("\r\n");
    const match = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(line);
    if (match === null) throw new Error(`not an HTTP/1.1 request line: ${JSON.stringify(line)}`);
    const headers: Record<string, string[]> = {};
    for (const field of fields) {
      const colon = field.indexOf(":");
      const name = field.slice(0, colon).toLowerCase();
      headers[name] = [...(headers[name] ?? []), field.slice(colon + 1).trim()];
    }
    const body = readBody(bytes, headEnd + 4, headers);
    if (body === undefined) break;
    requests.push({ method: match[1] as string, url: match[2] as string, headers, ...body.request });
    at = body.end;
  }
  return requests;
}

type BodyRead = { request: Pick<WireRequest, "framing" | "body">; end: number };

function readBody(bytes: Buffer, start: number, headers: Record<string, string[]>): BodyRead | undefined {
  if (headers["transfer-encoding"] !== undefined) {
    if (headers["content-length"] !== undefined) throw new Error("both Transfer-Encoding and Content-Length");
    const parts: Buffer[] = [];
    for (let at = start; ; ) {
      const lineEnd = bytes.indexOf("\r\n", at);
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(bytes.toString("latin1", at, lineEnd), 16);
      if (Number.isNaN(size)) throw new Error("bad chunk size");
      if (size === 0) {
        const end = bytes.indexOf("\r\n", lineEnd + 2); // no trailers are sent: the next line is the empty one
        if (end === -1) return undefined;
        return { request: { framing: "chunked", body: Buffer.concat(parts) }, end: end + 2 };
      }
      if (bytes.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const declared = headers["content-length"];
  if (declared === undefined) return { request: { framing: "none", body: Buffer.alloc(0) }, end: start };
  if (declared.length !== 1) throw new Error("repeated Content-Length");
  const length = Number(declared[0]);
  if (bytes.length < start + length) return undefined;
  return { request: { framing: "length", body: bytes.subarray(start, start + length) }, end: start + length };
}
