import test from "ava";
import { type ListParse, parseListRequest } from "../../src/server/list-request.js";

const parse = (text: string, max = 16_384): ListParse => parseListRequest(Buffer.from(text, "latin1"), max);
const rewritten = (text: string) => {
  const result = parse(text);
  return result.kind === "request" ? result.rewritten.toString("latin1") : JSON.stringify(result);
};

test("LIST becomes GET ?list=true with the header lines untouched", (t) => {
  t.is(
    rewritten("LIST /v1/secret/ HTTP/1.1\r\nHost: gw\r\nX-Vault-Token: t\r\n\r\n"),
    "GET /v1/secret/?list=true HTTP/1.1\r\nHost: gw\r\nX-Vault-Token: t\r\n\r\n",
  );
});

test("other query parameters stay, any list parameter is replaced", (t) => {
  t.is(
    rewritten("LIST /v1/s?a=1&list=false&li%73t=0 HTTP/1.1\r\nHost: gw\r\n\r\n").split("\r\n")[0],
    "GET /v1/s?a=1&list=true HTTP/1.1",
  );
});

test("the request ends at the first empty line: what follows is left for the next parser", (t) => {
  const text = "LIST /v1/s HTTP/1.1\r\nHost: gw\r\n\r\nGET /v1/x HTTP/1.1\r\n\r\n";
  const result = parse(text);
  t.is(result.kind === "request" ? result.length : -1, text.indexOf("GET"));
});

test("an unfinished header block waits for more bytes, until the size limit", (t) => {
  t.deepEqual(parse("LIST /v1/s HTTP/1.1\r\nHost: g"), { kind: "incomplete" });
  t.deepEqual(parse("LIST /v1/s HTTP/1.1\r\n"), { kind: "incomplete" });
  t.like(parse(`LIST /v1/s HTTP/1.1\r\nX: ${"a".repeat(200)}`, 100), { kind: "refused", status: 431 });
  t.like(parse(`LIST /v1/s HTTP/1.1\r\nX: ${"a".repeat(200)}\r\n\r\n`, 100), { kind: "refused", status: 431 });
});

const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ["a body by Content-Length", "LIST /v1/s HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello"],
  ["two Content-Length: 0", "LIST /v1/s HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"],
  ["Content-Length: 00", "LIST /v1/s HTTP/1.1\r\nHost: gw\r\nContent-Length: 00x\r\n\r\n"],
  ["a chunked body", "LIST /v1/s HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
  ["any Transfer-Encoding", "LIST /v1/s HTTP/1.1\r\nHost: gw\r\ntransfer-encoding: identity\r\n\r\n"],
  ["a bare LF", "LIST /v1/s HTTP/1.1\r\nHost: gw\nX: 1\r\n\r\n"],
  ["a bare CR", "LIST /v1/s HTTP/1.1\r\nHost: gw\rX: 1\r\n\r\n"],
  ["a bare LF before more arrives", "LIST /v1/s HTTP/1.1\nHost"],
  ["a folded line", "LIST /v1/s HTTP/1.1\r\nHost: gw\r\n X: 1\r\n\r\n"],
  ["a space in a header name", "LIST /v1/s HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n"],
  ["a NUL in a value", "LIST /v1/s HTTP/1.1\r\nX: a\x00b\r\n\r\n"],
  ["a line without a colon", "LIST /v1/s HTTP/1.1\r\nHost gw\r\n\r\n"],
  ["an absolute-form target", "LIST http://gw/v1/s HTTP/1.1\r\nHost: gw\r\n\r\n"],
  ["a fragment", "LIST /v1/s#x HTTP/1.1\r\nHost: gw\r\n\r\n"],
  ["two spaces", "LIST  /v1/s HTTP/1.1\r\nHost: gw\r\n\r\n"],
  ["HTTP/2.0", "LIST /v1/s HTTP/2.0\r\nHost: gw\r\n\r\n"],
  ["an undecodable parameter name", "LIST /v1/s?%zz=1 HTTP/1.1\r\nHost: gw\r\n\r\n"],
];
for (const [why, text] of REFUSED) {
  test(`refused: ${why}`, (t) => {
    t.like(parse(text), { kind: "refused", status: 400 });
  });
}

test("Content-Length: 0 is no body, and is allowed", (t) => {
  t.like(parse("LIST /v1/s HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n"), { kind: "request" });
});
