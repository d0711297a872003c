import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { ConfigError } from "../../../errors/gateway-error.js";
import type { TokenVerifier } from "../verifier.js";

export interface StaticVerifierOptions {
  /** A file of SHA-256 hex digests of the accepted tokens, one a line; `#` starts a comment. */
  file: string;
}

export interface StaticVerifier extends TokenVerifier {
  /** Re-reads the file; on a bad file the old list stays in force and the ConfigError is thrown to the caller. */
  reload(): Promise<void>;
  /** How many token hashes are loaded. */
  readonly size: number;
}

const DIGEST = /^[0-9a-f]{64}$/;

/**
 * Accepts the tokens whose SHA-256 is listed in a file, for setups without a token-aware backend. The file holds
 * hashes, not tokens, so reading it does not yield a credential; a lookup hashes the presented token and checks a
 * Set, so no comparison runs over secret bytes. The file is read when the verifier is built (a bad file fails the
 * start) and again on reload(). Reloading does not reach the auth cache: call the cache's clear() after it so that
 * a removed token stops working at once rather than within the cache's positive TTL.
 * @example
 * // sha256sum of the token, e.g. `printf %s "$TOKEN" | sha256sum`
 * const verifier = staticVerifier({ file: "/etc/portcullis/tokens.sha256" });
 */
export function staticVerifier(options: StaticVerifierOptions): StaticVerifier {
  const { file } = options;
  let digests = parseDigests(readText(file), file);
  return {
    async verify(token) {
      const digest = createHash("sha256").update(token, "utf8").digest("hex");
      return digests.has(digest) ? { valid: true } : { valid: false };
    },
    async reload() {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (error) {
        throw new ConfigError(`auth.static.file: cannot read ${file}`, { cause: error });
      }
      digests = parseDigests(text, file);
    },
    get size() {
      return digests.size;
    },
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`auth.static.file: cannot read ${file}`, { cause: error });
  }
}

function parseDigests(text: string, file: string): Set<string> {
  const digests = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/#.*$/, "").trim().toLowerCase();
    if (line === "") continue;
    // the line is not quoted back: a raw token pasted by mistake must not end up in a log
    if (!DIGEST.test(line)) {
      throw new ConfigError(`auth.static.file: ${file} line ${i + 1} is not a SHA-256 hex digest`);
    }
    digests.add(line);
  }
  return digests;
}
