// A deliberately small, strict HTTP/1.1 message reader for the tests: it is the independent judge of what a byte
// stream means. Line ends are CRLF only, header names are tokens, a body is framed by exactly one of a single
// Content-Length or `Transfer-Encoding: chunked`; anything else is reported, never guessed around.

export interface WireMessage {
  /** Request: method and target; response: "HTTP/1.1" and the status. */
  readonly startLine: readonly [string, string, string];
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  /** How many bytes of the stream the whole message took. */
  readonly size: number;
}

export interface WireParse {
  readonly messages: WireMessage[];
  /** Bytes after the last complete message. */
  readonly rest: Buffer;
  /** Why the stream stopped making sense, if it did. */
  readonly error?: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function header(message: WireMessage, name: string): string | undefined {
  return message.headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** Splits a byte stream into requests (`kind: "request"`) or responses; `eof`: the stream ended (close-delimited bodies). */
export function parseMessages(bytes: Buffer, kind: "request" | "response", eof = true): WireParse {
  const messages: WireMessage[] = [];
  let at = 0;
  while (at < bytes.length) {
    const result = parseOne(bytes, at, kind, eof);
    if (result === "incomplete") return { messages, rest: bytes.subarray(at) };
    if (typeof result === "string") return { messages, rest: bytes.subarray(at), error: result };
    messages.push({ ...result.message, size: result.next - at });
    at = result.next;
  }
  return { messages, rest: Buffer.alloc(0) };
}

type One = { message: Omit<WireMessage, "size">; next: number } | "incomplete" | string;

function parseOne(bytes: Buffer, start: number, kind: "request" | "response", eof: boolean): One {
  const end = bytes.indexOf("\r\n\r\n", start);
  if (end === -1) return "incomplete";
  const head = bytes.subarray(start, end).toString("latin1");
  if (/\r(?!\n)|(?<!\r)\n/.test(head)) return "bare CR or LF in the header block";
  const [line = "", ...fields] = head.split("\r\n");
  const parts = line.split(" ");
  if (kind === "request" && (parts.length !== 3 || !/^HTTP\/1\.[01]$/.test(parts[2] ?? ""))) {
    return `bad request line: ${JSON.stringify(line)}`;
  }
  if (kind === "response" && !/^HTTP\/1\.[01] \d{3}( .*)?$/.test(line))
    return `bad status line: ${JSON.stringify(line)}`;
  const startLine: [string, string, string] =
    kind === "request"
      ? [parts[0] ?? "", parts[1] ?? "", parts[2] ?? ""]
      : [parts[0] ?? "", parts[1] ?? "", parts.slice(2).join(" ")];
  const headers: [string, string][] = [];
  for (const field of fields) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon);
    if (colon < 1 || !TOKEN.test(name)) return `bad header line: ${JSON.stringify(field)}`;
    headers.push([name, field.slice(colon + 1).trim()]);
  }
  const lengths = headers.filter(([n]) => n.toLowerCase() === "content-length");
  const codings = headers.filter(([n]) => n.toLowerCase() === "transfer-encoding");
  if (lengths.length > 1 || codings.length > 1 || (lengths.length > 0 && codings.length > 0)) {
    return "ambiguous framing (Content-Length and Transfer-Encoding, or repeats)";
  }
  const bodyStart = end + 4;
  const status = Number(startLine[1]);
  const bodyless = kind === "response" && (status === 204 || status === 304 || (status >= 100 && status < 200));
  if (codings.length === 1) {
    if ((codings[0]?.[1] ?? "").toLowerCase() !== "chunked") return `unsupported Transfer-Encoding ${codings[0]?.[1]}`;
    return chunked(bytes, bodyStart, { startLine, headers });
  }
  if (lengths.length === 1) {
    const value = lengths[0]?.[1] ?? "";
    if (!/^\d+$/.test(value)) return `bad Content-Length ${JSON.stringify(value)}`;
    const next = bodyStart + Number(value);
    if (next > bytes.length) return "incomplete";
    return { message: { startLine, headers, body: bytes.subarray(bodyStart, next) }, next };
  }
  if (kind === "request" || bodyless)
    return { message: { startLine, headers, body: Buffer.alloc(0) }, next: bodyStart };
  // a response without framing runs to the end of the connection
  if (!eof) return "incomplete";
  return { message: { startLine, headers, body: bytes.subarray(bodyStart) }, next: bytes.length };
}

function chunked(bytes: Buffer, from: number, head: Omit<WireMessage, "body" | "size">): One {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at);
    if (lineEnd === -1) return "incomplete";
    const sizeLine = bytes.subarray(at, lineEnd).toString("latin1");
    if (!/^[0-9A-Fa-f]{1,8}(;[!-~ \t]*)?$/.test(sizeLine)) return `bad chunk size line ${JSON.stringify(sizeLine)}`;
    const size = Number.parseInt(sizeLine, 16);
    at = lineEnd + 2;
    if (size === 0) {
      // trailer fields, then the empty line
      const end = bytes.indexOf("\r\n", at);
      if (end === -1) return "incomplete";
      if (end !== at) return "trailer fields are not expected here";
      return { message: { ...head, body: Buffer.concat(parts) }, next: end + 2 };
    }
    if (at + size + 2 > bytes.length) return "incomplete";
    parts.push(bytes.subarray(at, at + size));
    if (bytes.subarray(at + size, at + size + 2).toString("latin1") !== "\r\n") return "chunk not followed by CRLF";
    at += size + 2;
  }
}
