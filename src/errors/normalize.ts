import type { ServerResponse } from "node:http";
import { GatewayError } from "./gateway-error.js";
import { statusMessage } from "./http-status.js";

/** The longest message taken from a backend body; longer ones are cut, as no client needs a novel. */
const MAX_MESSAGE_LENGTH = 512;

export interface ErrorBody {
  errors: string[];
}

/** Serializes the one error shape of the API. */
export function errorBody(messages: readonly string[]): string {
  return JSON.stringify({ errors: messages.length > 0 ? [...messages] : ["error"] } satisfies ErrorBody);
}

export type ErrorLogger = (error: unknown) => void;

export interface WriteErrorOptions {
  /** Headers the answer carries whatever the error (e.g. RateLimit-* fields of the request). */
  headers?: Readonly<Record<string, string>>;
  /** Told about our own failures (anything not a GatewayError, and 5xx ones). */
  log?: ErrorLogger | undefined;
}

/**
 * The only place the gateway writes an error body of its own. A GatewayError shows its public message; anything
 * else is our bug, so the client reads "internal error" and the details go to the log only.
 */
export function writeError(res: ServerResponse, error: unknown, options: WriteErrorOptions = {}): void {
  const known = error instanceof GatewayError;
  if (!known || error.status >= 500) options.log?.(error);
  // a success status already went out: cut the stream rather than append an error to it
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = known ? error.status : 500;
  const payload = errorBody([known ? error.publicMessage : "internal error"]);
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.writeHead(status, {
    ...options.headers,
    ...(known ? error.headers : {}),
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    "cache-control": "no-store",
  });
  res.end(payload);
}

/**
 * Turns a backend's error body into the API's shape. A body that already is `{"errors": [strings...]}` (non-empty)
 * is kept byte for byte; JSON `error`/`message` fields and short plain text are wrapped; HTML, empty and unreadable
 * bodies become the status's own message. Stack traces are never passed on.
 */
export function normalizeBackendError(
  status: number,
  contentType: string | undefined,
  body: Buffer | undefined,
): { body: Buffer; passedThrough: boolean } {
  const fallback = (): { body: Buffer; passedThrough: boolean } => ({
    body: Buffer.from(errorBody([statusMessage(status)])),
    passedThrough: false,
  });
  if (body === undefined || body.length === 0) return fallback();
  const type = (contentType ?? "").toLowerCase();
  const text = body.toString("utf8");
  const trimmed = text.trim();
  if (type.includes("json") || trimmed.startsWith("{")) {
    const parsed = parseJson(trimmed);
    if (parsed === undefined) return fallback();
    if (isErrorBody(parsed)) return { body, passedThrough: true };
    const messages = messagesFromJson(parsed);
    return messages.length > 0 ? { body: Buffer.from(errorBody(messages)), passedThrough: false } : fallback();
  }
  if (type.startsWith("text/plain") || type === "") {
    const message = safeTextMessage(trimmed);
    return message === undefined ? fallback() : { body: Buffer.from(errorBody([message])), passedThrough: false };
  }
  return fallback(); // HTML and anything else: a page, not a message
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Exactly `{"errors": [safe one-line strings]}`: anything more (a stack, a token, debug fields) is rebuilt. */
function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  if (Object.keys(value).length !== 1) return false;
  const errors = (value as { errors?: unknown }).errors;
  return (
    Array.isArray(errors) &&
    errors.length > 0 &&
    errors.every((e) => typeof e === "string" && safeTextMessage(e) === e.trim())
  );
}

function messagesFromJson(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return [];
  const record = value as Record<string, unknown>;
  const candidates: unknown[] = [];
  if (Array.isArray(record.errors)) candidates.push(...record.errors);
  candidates.push(record.error, record.message);
  const messages: string[] = [];
  for (const candidate of candidates) {
    const message = typeof candidate === "string" ? safeTextMessage(candidate) : undefined;
    if (message !== undefined && !messages.includes(message)) messages.push(message);
  }
  return messages;
}

/** Vault's "2 errors occurred:\n\t* first\n\t* second" as "first; second": the reasons, not the count. */
function vaultMultiError(text: string): string | undefined {
  if (!/^\s*\d+ errors? occurred:/.test(text)) return undefined;
  const reasons = [...text.matchAll(/^\s*\*\s+(.+?)\s*$/gm)].map((match) => match[1]);
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

/** A message worth showing: one short line that does not look like a stack trace or markup. */
function safeTextMessage(text: string): string | undefined {
  const line = vaultMultiError(text) ?? text.trim().split(/\r?\n/, 1)[0]?.trim() ?? "";
  if (line === "" || line.startsWith("<")) return undefined;
  if (/^\s*at\s+\S+.*\(.*:\d+:\d+\)/m.test(text) || /\n\s+at\s/.test(text)) return undefined;
  if (/Traceback \(most recent call last\)|goroutine \d+ \[/.test(text)) return undefined;
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}
