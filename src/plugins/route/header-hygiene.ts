import type { IncomingMessage } from "node:http";
import { BadRequestError, GatewayError } from "../../errors/gateway-error.js";

/**
 * How many header lines a request may carry. Node's own cap (2000 pairs, or the 16 KiB of maxHeaderSize) is far
 * above what any Vault client sends (about ten); each header costs parsing, copying and matching in every stage.
 */
export const DEFAULT_MAX_HEADERS_COUNT = 100;

export class TooManyHeadersError extends GatewayError {
  override name = "TooManyHeadersError";
  constructor() {
    super(431, "PORTCULLIS_HEADERS_TOO_LARGE", "request header fields too large");
  }
}

/**
 * Refuses header sets that mean different things to different parsers: a repeated Host (which one did the client
 * mean?) and underscore spellings of the token headers (`X_Nomad_Token`), which some servers and CGI-style
 * frameworks read as the dashed name while we would not see a token at all. Too many header lines is a 431.
 */
export function checkHeaderHygiene(
  req: IncomingMessage,
  tokenHeaders: readonly string[],
  maxHeadersCount = DEFAULT_MAX_HEADERS_COUNT,
): void {
  const raw = req.rawHeaders;
  if (raw.length / 2 > maxHeadersCount) throw new TooManyHeadersError();
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase();
    if (name === "host" && ++hosts > 1) throw new BadRequestError("more than one Host header");
    if (name.includes("_") && tokenHeaders.includes(name.replaceAll("_", "-"))) {
      throw new BadRequestError(`header name "${raw[i]}" is not allowed: use dashes`);
    }
  }
}
