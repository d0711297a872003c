import test from "ava";
import { inErrorShape } from "../hardening/helpers/error-shape.js";
import { startHardenedGateway } from "../hardening/helpers/hardened-gateway.js";
import { rawExchange } from "../hardening/helpers/raw-tls.js";
import { parseMessages } from "../hardening/helpers/wire.js";
import { startBackend, TEST_TOKEN } from "../helpers/backend.js";

// Issue 5: Node answers some requests itself, before any of our code runs, with an empty body outside the API's
// {"errors": [...]} contract (and CONNECT with no answer at all). Each now gets the errors shape.

const H = `Host: gw\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n`;
const CASES: ReadonlyArray<readonly [string, string, number[]]> = [
  [
    "an HTTP/1.1 request without Host (Node: empty 400)",
    `GET /v1/secret/a HTTP/1.1\r\nX-Nomad-Token: ${TEST_TOKEN}\r\n\r\n`,
    [400],
  ],
  [
    "an Expect other than 100-continue (Node: empty 417)",
    `PUT /v1/secret/a HTTP/1.1\r\n${H}Expect: x\r\nContent-Length: 0\r\n\r\n`,
    [417],
  ],
  ["CONNECT (Node: the socket closed without a word)", `CONNECT gw:443 HTTP/1.1\r\n${H}\r\n`, [405]],
  ["a parse error (Node: empty 400)", "GET /v1/secret/a HTTP/1.1\r\nBad Header\r\n\r\n", [400]],
  ["an unknown method (Node: empty 400)", `BREW /v1/secret/a HTTP/1.1\r\n${H}\r\n`, [501]],
  [
    "pipelined requests past maxRequestsPerSocket (Node: empty 503)",
    `GET /v1/secret/a HTTP/1.1\r\n${H}\r\nGET /v1/secret/b HTTP/1.1\r\n${H}\r\nGET /v1/secret/c HTTP/1.1\r\n${H}\r\n`,
    [200, 200],
  ],
];

for (const [title, bytes, statuses] of CASES) {
  test(`issue 5: ${title} is answered in the errors shape`, async (t) => {
    const backend = await startBackend();
    t.teardown(() => backend.close());
    const gw = await startHardenedGateway({ upstream: { url: backend.url }, limits: { maxRequestsPerSocket: 2 } });
    t.teardown(() => gw.close());
    const exchange = await rawExchange(gw.port, bytes, { responses: statuses.length });
    const replies = parseMessages(exchange.bytes, "response", exchange.closedByServer).messages;
    t.deepEqual(
      replies.map((r) => Number(r.startLine[1])),
      statuses,
    );
    for (const reply of replies.filter((r) => Number(r.startLine[1]) >= 400)) t.true(inErrorShape(reply));
  });
}
