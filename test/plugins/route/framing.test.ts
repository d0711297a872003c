import type { IncomingMessage, ServerResponse } from "node:http";
import test from "ava";
import type { GatewayError } from "../../../src/errors/gateway-error.js";
import { ALLOWED_METHODS, checkFraming } from "../../../src/plugins/route/framing.js";
import { checkHeaderHygiene } from "../../../src/plugins/route/header-hygiene.js";

function request(parts: { method?: string; version?: string; raw?: string[] }): IncomingMessage {
  const raw = parts.raw ?? ["Host", "gw"];
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[(raw[i] ?? "").toLowerCase()] = raw[i + 1] ?? "";
  return { method: parts.method ?? "GET", httpVersion: parts.version ?? "1.1", headers, rawHeaders: raw } as never;
}

function refusal(req: IncomingMessage): { status?: number; keepAlive: boolean } {
  const res = { shouldKeepAlive: true } as ServerResponse;
  try {
    checkFraming(req, res, ALLOWED_METHODS);
    checkHeaderHygiene(req, ["x-nomad-token", "x-vault-token"]);
    return { keepAlive: res.shouldKeepAlive };
  } catch (error) {
    return { status: (error as GatewayError).status, keepAlive: res.shouldKeepAlive };
  }
}

const CASES: ReadonlyArray<readonly [string, Parameters<typeof request>[0], number | undefined, boolean]> = [
  ["a plain GET passes", {}, undefined, true],
  ["chunked passes", { method: "POST", raw: ["Host", "gw", "Transfer-Encoding", "chunked"] }, undefined, true],
  ["Transfer-Encoding: identity", { method: "POST", raw: ["Host", "gw", "Transfer-Encoding", "identity"] }, 400, false],
  [
    "Transfer-Encoding: gzip, chunked",
    { method: "POST", raw: ["Host", "gw", "Transfer-Encoding", "gzip, chunked"] },
    400,
    false,
  ],
  ["HTTP/0.9", { version: "0.9", raw: [] }, 505, false],
  ["HTTP/2.0 in a text request line", { version: "2.0" }, 505, false],
  ["HTTP/1.1 without Host", { raw: [] }, 400, false],
  ["HTTP/1.0 without Host passes", { version: "1.0", raw: [] }, undefined, true],
  ["TRACE", { method: "TRACE" }, 405, false],
  ["PROPFIND", { method: "PROPFIND" }, 405, false],
  ["two Host headers", { raw: ["Host", "a", "host", "b"] }, 400, true],
  ["X_Vault_Token", { raw: ["Host", "gw", "X_Vault_Token", "t"] }, 400, true],
  [
    "101 header lines",
    { raw: ["Host", "gw", ...Array.from({ length: 100 }, (_, i) => [`x-${i}`, "1"]).flat()] },
    431,
    true,
  ],
  [
    "100 header lines pass",
    { raw: ["Host", "gw", ...Array.from({ length: 99 }, (_, i) => [`x-${i}`, "1"]).flat()] },
    undefined,
    true,
  ],
];

for (const [title, parts, status, keepAlive] of CASES) {
  test(`framing and header hygiene: ${title}`, (t) => {
    const outcome = refusal(request(parts));
    t.is(outcome.status, status);
    // a refusal about framing closes the connection: the next request's start is in doubt
    t.is(outcome.keepAlive, keepAlive);
  });
}

test("a 405 names the methods that are served", (t) => {
  const error = t.throws(() => checkFraming(request({ method: "TRACE" }), {} as ServerResponse, ALLOWED_METHODS));
  t.is((error as GatewayError).headers.allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
});
