import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  readonly level: string;
  /** Where lines go; stdout when absent (tests pass a stream to capture them). */
  readonly destination?: DestinationStream;
}

// Defense in depth: no code of ours logs these, but a mistake must not put a credential in a log line.
const REDACTED_PATHS = [
  "token",
  "*.token",
  "client_token",
  "*.client_token",
  "password",
  "*.password",
  "headers.cookie",
  'headers["set-cookie"]',
  'headers["x-vault-token"]',
  'headers["x-nomad-token"]',
  'headers["authorization"]',
  "*.headers.cookie",
  '*.headers["x-vault-token"]',
  '*.headers["x-nomad-token"]',
];

/** The structured JSON logger every part of the gateway writes through. */
export function createLogger(options: LogOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: "portcullis" },
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
