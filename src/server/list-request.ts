export type ListParse =
  | { readonly kind: "incomplete" }
  | { readonly kind: "refused"; readonly status: number; readonly message: string }
  /** `rewritten` replaces the first `length` bytes (the LIST request's whole header block). */
  | { readonly kind: "request"; readonly rewritten: Buffer; readonly length: number };

const CRLF = Buffer.from("\r\n");
const END = Buffer.from("\r\n\r\n");
// RFC 9110 §5.6.2 token characters: a header name; anything else is refused rather than interpreted
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// a field value: visible ASCII, space, tab and obs-text; no CR, LF, NUL or other controls
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_LINE = /^LIST (\/[\x21-\x7e]*) (HTTP\/1\.[01])$/;

const refused = (status: number, message: string): ListParse => ({ kind: "refused", status, message });

/**
 * Reads one `LIST` request from the start of `bytes`, more strictly than Node's parser reads anything: CRLF line
 * ends only, no bare CR or LF anywhere, no folded lines, token header names, and no body at all (no
 * Transfer-Encoding, Content-Length absent or a single "0"). So the request ends exactly at the first empty line,
 * and the bytes after it can only start the next request, whoever parses them.
 *
 * The request comes back as `GET <path>?<query>&list=true` with the header lines untouched, which is how Vault
 * itself defines LIST; any `list` parameter the client sent is dropped so the one we add is the only one.
 */
export function parseListRequest(bytes: Buffer, maxHeaderBytes: number): ListParse {
  const end = bytes.indexOf(END);
  if (end === -1) {
    if (bytes.length > maxHeaderBytes) return refused(431, "request header fields too large");
    return hasStrayLineBreak(bytes, bytes.length) ? refused(400, "bad request") : { kind: "incomplete" };
  }
  const length = end + END.length;
  if (length > maxHeaderBytes) return refused(431, "request header fields too large");
  if (hasStrayLineBreak(bytes, length)) return refused(400, "bad request");
  const lines = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const requestLine = REQUEST_LINE.exec(lines[0] ?? "");
  if (requestLine === null) return refused(400, "bad request");
  const [, target = "", version = ""] = requestLine;

  let contentLengths = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (colon < 1 || !TOKEN.test(name) || !FIELD_VALUE.test(line.slice(colon + 1))) return refused(400, "bad request");
    if (name === "transfer-encoding") return refused(400, "a LIST request carries no body");
    if (name === "content-length" && (++contentLengths > 1 || value !== "0")) {
      return refused(400, "a LIST request carries no body");
    }
  }
  const rewrittenTarget = listTarget(target);
  if (rewrittenTarget === undefined) return refused(400, "malformed request target");
  const headerLines = bytes.subarray((lines[0] ?? "").length + CRLF.length, length);
  const requestLineOut = Buffer.from(`GET ${rewrittenTarget} ${version}\r\n`, "latin1");
  return { kind: "request", rewritten: Buffer.concat([requestLineOut, headerLines]), length };
}

/** `/p?a=1&list=false` -> `/p?a=1&list=true`; undefined for a fragment or an undecodable parameter name. */
function listTarget(target: string): string | undefined {
  if (target.includes("#")) return undefined;
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const params = q === -1 || q === target.length - 1 ? [] : target.slice(q + 1).split("&");
  const kept: string[] = [];
  for (const param of params) {
    const name = decodedName(param);
    if (name === undefined) return undefined;
    if (name !== "list") kept.push(param);
  }
  return `${path}?${[...kept, "list=true"].join("&")}`;
}

function decodedName(param: string): string | undefined {
  const eq = param.indexOf("=");
  try {
    return decodeURIComponent((eq === -1 ? param : param.slice(0, eq)).replaceAll("+", " "));
  } catch {
    return undefined;
  }
}

/** Whether a CR or LF in bytes[0, upTo) is not part of a CRLF pair (a line end some parsers accept and others not). */
function hasStrayLineBreak(bytes: Buffer, upTo: number): boolean {
  for (let i = 0; i < upTo; i++) {
    const byte = bytes[i];
    if (byte === 0x0d) {
      // a CR at the very end of what has arrived may still get its LF
      if (i + 1 < bytes.length && bytes[i + 1] !== 0x0a) return true;
    } else if (byte === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) return true;
  }
  return false;
}
