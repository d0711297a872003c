import { TEST_TOKEN } from "../../helpers/backend.js";

export interface SmugglingCase {
  readonly name: string;
  /** Raw bytes sent at once (or in chunks with a pause between). */
  readonly send: string | readonly string[];
  /** The statuses the client must read, in order. */
  readonly statuses: readonly number[];
  /**
   * "METHOD target" of every whole request the backend may receive. (A request whose body breaks is started
   * upstream and then cut off with its connection: never whole, so never read.)
   */
  readonly forwarded: readonly string[];
}

const H = `Host: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n`;
// a complete request hidden where only a body should be: if it is ever read as a request, the case is a desync
const HIDDEN = `GET /v1/smuggled HTTP/1.1\r\n${H}\r\n`;
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

/** Framing attacks and their only acceptable outcome; LIST cases included (they take another parser path). */
export const SMUGGLING_CASES: readonly SmugglingCase[] = [
  {
    name: "CL.TE: Content-Length with Transfer-Encoding: chunked",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "TE.CL: Transfer-Encoding: chunked before Content-Length",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${chunk(HIDDEN)}0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "two Content-Length headers with different values",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "two Content-Length headers with the same value",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Content-Length as a list",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Content-Length: 2, 2\r\n\r\n{}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Content-Length with a sign",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Content-Length: +2\r\n\r\n{}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Transfer-Encoding: chunked, identity",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n${chunk(HIDDEN)}0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Transfer-Encoding: identity (Node reads the headers, then fails on the body)",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n${HIDDEN}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Transfer-Encoding: gzip, chunked (a coding we would drop on the way)",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n${chunk("xx")}0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Transfer-Encoding: xchunked",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n${chunk(HIDDEN)}0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Transfer-Encoding twice",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "space before the colon of Transfer-Encoding",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "vertical tab before chunked",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "Transfer-Encoding folded onto a second line",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "bare LF line ends",
    send: `GET /v1/secret/a HTTP/1.1\nHost: gw\nX-Nomad-Token: ${TEST_TOKEN}\n\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "a chunk size line ended by a bare LF (the body breaks after the request was forwarded)",
    send: [`POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, `5\nhello\n0\n\n${HIDDEN}`],
    statuses: [400],
    forwarded: [],
  },
  {
    name: "a chunk size beyond 64 bits",
    send: [
      `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`,
      `1000000000000000f\r\nx\r\n0\r\n\r\n`,
    ],
    statuses: [400],
    forwarded: [],
  },
  {
    name: "a chunk extension hiding a CRLF in quotes",
    send: `POST /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2;x="\r\n${HIDDEN}"\r\n{}\r\n0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "a chunked DELETE whose body is a request (http-proxy's deleteLength)",
    send: `DELETE /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${chunk(HIDDEN)}0\r\n\r\nGET /v1/secret/after HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200],
    forwarded: ["DELETE /v1/secret/a", "GET /v1/secret/after"],
  },
  {
    name: "a chunked OPTIONS whose body is a request",
    send: `OPTIONS /v1/secret/a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${chunk(HIDDEN)}0\r\n\r\n`,
    statuses: [200],
    forwarded: ["OPTIONS /v1/secret/a"],
  },
  {
    name: "a GET whose Content-Length body is a request, and a LIST",
    send: `GET /v1/secret/a HTTP/1.1\r\n${H}Content-Length: ${HIDDEN.length + 10}\r\n\r\n${HIDDEN}LIST /v1/x`,
    statuses: [200],
    forwarded: ["GET /v1/secret/a"],
  },
  {
    name: "three pipelined requests",
    send: `GET /v1/secret/a HTTP/1.1\r\n${H}\r\nPOST /v1/secret/b HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\n{}GET /v1/secret/c HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200, 200],
    forwarded: ["GET /v1/secret/a", "POST /v1/secret/b", "GET /v1/secret/c"],
  },
  {
    name: "Connection: close, then a pipelined request that must not be read",
    send: `GET /v1/secret/a HTTP/1.1\r\n${H}Connection: close\r\n\r\n${HIDDEN}`,
    statuses: [200],
    forwarded: ["GET /v1/secret/a"],
  },
  {
    name: "a good request, then garbage: the good one is answered first",
    send: `GET /v1/secret/a HTTP/1.1\r\n${H}\r\nGET /\x00 HTTP/1.1\r\n\r\n`,
    statuses: [200, 400],
    forwarded: ["GET /v1/secret/a"],
  },
  {
    name: "absolute-form target",
    send: `GET http://gw/v1/secret/a HTTP/1.1\r\n${H}\r\n`,
    statuses: [400],
    forwarded: [],
  },
  { name: "asterisk-form target", send: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, statuses: [400], forwarded: [] },
  {
    name: "two Host headers",
    send: `GET /v1/secret/a HTTP/1.1\r\nHost: gw\r\n${H}\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "no Host header",
    send: `GET /v1/secret/a HTTP/1.1\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "an underscore spelling of the token header",
    send: `GET /v1/secret/a HTTP/1.1\r\nHost: gw\r\nX_Vault_Token: ${TEST_TOKEN}\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  { name: "an HTTP/0.9 request line", send: "GET /v1/secret/a\r\n\r\n", statuses: [505], forwarded: [] },
  { name: "the HTTP/2 preface", send: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", statuses: [505], forwarded: [] },
  { name: "CONNECT", send: `CONNECT gw:443 HTTP/1.1\r\n${H}\r\n`, statuses: [405], forwarded: [] },
  { name: "TRACE", send: `TRACE /v1/secret/a HTTP/1.1\r\n${H}\r\n`, statuses: [405], forwarded: [] },
  {
    name: "Expect: 100-continue, then the body",
    send: `PUT /v1/secret/a HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}`,
    statuses: [100, 200],
    forwarded: ["PUT /v1/secret/a"],
  },
  {
    name: "an Expect the server does not know",
    send: `PUT /v1/secret/a HTTP/1.1\r\n${H}Expect: smuggle\r\nContent-Length: 2\r\n\r\n{}`,
    statuses: [417],
    forwarded: [],
  },
  {
    name: "Upgrade: h2c on a GET is served as a plain GET",
    send: `GET /v1/secret/a HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n`,
    statuses: [200],
    forwarded: ["GET /v1/secret/a"],
  },
  // LIST takes the connection from Node's failed parser: its framing must hold as tightly as Node's own
  {
    name: "LIST, then a pipelined GET",
    send: `LIST /v1/secret/ HTTP/1.1\r\n${H}\r\nGET /v1/secret/b HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200],
    forwarded: ["GET /v1/secret/?list=true", "GET /v1/secret/b"],
  },
  {
    name: "GET, LIST, GET, LIST pipelined in one packet",
    send: `GET /v1/secret/a HTTP/1.1\r\n${H}\r\nLIST /v1/secret/b HTTP/1.1\r\n${H}\r\nGET /v1/secret/c HTTP/1.1\r\n${H}\r\nLIST /v1/secret/d?list=false HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200, 200, 200],
    forwarded: ["GET /v1/secret/a", "GET /v1/secret/b?list=true", "GET /v1/secret/c", "GET /v1/secret/d?list=true"],
  },
  {
    name: "LIST with a Content-Length body that is a request",
    send: `LIST /v1/secret/ HTTP/1.1\r\n${H}Content-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "LIST with a chunked body",
    send: `LIST /v1/secret/ HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${chunk(HIDDEN)}0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "LIST with Content-Length: 0, then a request",
    send: `LIST /v1/secret/ HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\nGET /v1/secret/b HTTP/1.1\r\n${H}\r\n`,
    statuses: [200, 200],
    forwarded: ["GET /v1/secret/?list=true", "GET /v1/secret/b"],
  },
  {
    name: "LIST with Content-Length and Transfer-Encoding",
    send: `LIST /v1/secret/ HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "LIST with a bare LF in its headers",
    send: `LIST /v1/secret/ HTTP/1.1\r\nHost: gw\nContent-Length: 5\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n\r\nhello`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "LIST with a folded header line",
    send: `LIST /v1/secret/ HTTP/1.1\r\n${H}X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "LIST with an absolute-form target",
    send: `LIST http://gw/v1/secret/ HTTP/1.1\r\n${H}\r\n`,
    statuses: [400],
    forwarded: [],
  },
  {
    name: "LIST split across writes, its header block in three parts",
    send: ["LIST /v1/secret/ HTTP/1.1\r\nHo", `st: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n`, "\r\n"],
    statuses: [200],
    forwarded: ["GET /v1/secret/?list=true"],
  },
  {
    name: "LISTEN, UNLIST and list are not LIST",
    send: `LISTEN /v1/secret/ HTTP/1.1\r\n${H}\r\n`,
    statuses: [501],
    forwarded: [],
  },
  { name: "UNLIST", send: `UNLIST /v1/secret/ HTTP/1.1\r\n${H}\r\n`, statuses: [501], forwarded: [] },
  { name: "lower-case list", send: `list /v1/secret/ HTTP/1.1\r\n${H}\r\n`, statuses: [501], forwarded: [] },
];
