import type { IncomingMessage } from "node:http";
import { BadRequestError } from "../../errors/gateway-error.js";

/**
 * Refuses header sets that mean different things to different parsers: a repeated Host (which one did the client
 * mean?) and underscore spellings of the token headers (`X_Nomad_Token`), which some servers and CGI-style
 * frameworks read as the dashed name while we would not see a token at all.
 */
export function checkHeaderHygiene(req: IncomingMessage, tokenHeaders: readonly string[]): void {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? "").toLowerCase();
    if (name === "host" && ++hosts > 1) throw new BadRequestError("more than one Host header");
    if (name.includes("_") && tokenHeaders.includes(name.replaceAll("_", "-"))) {
      throw new BadRequestError(`header name "${raw[i]}" is not allowed: use dashes`);
    }
  }
}
