import test from "ava";
import { errors as undiciErrors } from "undici";
import { incomingHeaders } from "../../../src/plugins/proxy/engines/undici-forward.js";
import { upstreamError } from "../../../src/plugins/proxy/upstream-errors.js";

const withCode = (code: string) => Object.assign(new Error(code), { code });
const LATE = "the backend did not answer in time";
const UNAVAILABLE = "the backend is unavailable, try again later";
const INVALID = "the backend sent an invalid response";
const TLS = "the backend's TLS certificate could not be verified";

const cases: { desc: string; error: unknown; timedOut?: boolean; status: number; message: string }[] = [
  { desc: "a refused connection", error: withCode("ECONNREFUSED"), status: 503, message: UNAVAILABLE },
  { desc: "a reset", error: withCode("ECONNRESET"), status: 503, message: UNAVAILABLE },
  {
    desc: "undici's socket error",
    error: new undiciErrors.SocketError("other side closed"),
    status: 503,
    message: UNAVAILABLE,
  },
  { desc: "http-proxy's socket timeout", error: withCode("ECONNRESET"), timedOut: true, status: 503, message: LATE },
  { desc: "undici's headers timeout", error: new undiciErrors.HeadersTimeoutError(), status: 503, message: LATE },
  { desc: "undici's body timeout", error: new undiciErrors.BodyTimeoutError(), status: 503, message: LATE },
  { desc: "undici's connect timeout", error: new undiciErrors.ConnectTimeoutError(), status: 503, message: LATE },
  { desc: "node's parser error", error: withCode("HPE_INVALID_CONSTANT"), status: 502, message: INVALID },
  {
    desc: "undici's parser error (no code)",
    error: new undiciErrors.HTTPParserError("bad"),
    status: 502,
    message: INVALID,
  },
  {
    desc: "undici's informational error",
    error: new undiciErrors.InformationalError("reset"),
    status: 502,
    message: INVALID,
  },
  {
    desc: "a body shorter than its Content-Length",
    error: new undiciErrors.ResponseContentLengthMismatchError(),
    status: 502,
    message: INVALID,
  },
  { desc: "an unknown CA", error: withCode("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), status: 502, message: TLS },
  { desc: "a name mismatch", error: withCode("ERR_TLS_CERT_ALTNAME_INVALID"), status: 502, message: TLS },
  { desc: "a pin mismatch", error: withCode("ERR_PORTCULLIS_PIN_MISMATCH"), status: 502, message: TLS },
  { desc: "something unknown", error: new Error("?"), status: 503, message: UNAVAILABLE },
];

for (const row of cases) {
  test(`${row.desc} becomes ${row.status}: "${row.message}"`, (t) => {
    const mapped = upstreamError(row.error, row.timedOut);
    t.is(mapped.status, row.status);
    t.is(mapped.publicMessage, row.message);
    t.is(mapped.cause, row.error, "the transport error stays the cause, for the log");
    if (row.status === 503) t.is(mapped.headers["retry-after"], "1");
  });
}

test("undici's raw response headers read as node:http reads them", (t) => {
  const raw = [
    ["Content-Type", "application/json"],
    ["Set-Cookie", "a=1"],
    ["X-Multi", "one"],
    ["set-cookie", "b=2"],
    ["x-multi", "two"],
    ["Content-Type", "text/html"],
    ["constructor", "x"],
  ].flatMap(([name, value]) => [Buffer.from(name as string), Buffer.from(value as string)]);
  t.deepEqual(
    { ...incomingHeaders(raw) },
    {
      "content-type": "application/json",
      "set-cookie": ["a=1", "b=2"],
      "x-multi": "one, two",
      constructor: "x",
    },
  );
});
