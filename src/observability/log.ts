import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  readonly level: string;
  /** Where lines go; stdout when absent (tests pass a stream to capture them). */
  readonly destination?: DestinationStream;
}

// Defense in depth: no code of ours logs these, but a mistake must not put a credential in a log line.
const CREDENTIAL_HEADERS = ["cookie", "set-cookie", "authorization", "x-vault-token", "x-nomad-token"];
const REDACTED_PATHS = [
  "token",
  "*.token",
  "client_token",
  "*.client_token",
  "*.*.client_token",
  "password",
  "*.password",
  "secret",
  "*.secret",
  // headers logged as they are, one or two levels down (req.headers, err.response.headers, ctx.upstreamHeaders)
  ...CREDENTIAL_HEADERS.flatMap((name) => [
    `headers["${name}"]`,
    `*.headers["${name}"]`,
    `*.*.headers["${name}"]`,
    `upstreamHeaders["${name}"]`,
    `*.upstreamHeaders["${name}"]`,
  ]),
];

/** The structured JSON logger every part of the gateway writes through. */
export function createLogger(options: LogOptions): Logger {
  return pino(
    {
      level: options.level,
      // pid tells the workers of `serve --workers N` apart
      base: { service: "portcullis", pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

// Vault's older endpoints carry a token in the path (auth/token/lookup/<token>): never log that segment.
const TOKEN_IN_PATH = /^(\/v1\/auth\/token\/(?:lookup|revoke|revoke-orphan|renew)\/)[^/?]+/;

/** The path as it may be logged. */
export function loggablePath(path: string): string {
  return path.replace(TOKEN_IN_PATH, "$1[redacted]");
}
