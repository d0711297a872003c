import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Vault answers 413 past its max_request_size; ours is far smaller, a dev store holds small secrets. */
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * An oversized body is read and thrown away up to this bound, so the client finishes sending and can read the 413
 * (cutting the socket mid-upload makes most clients report a reset instead). Past it we answer and hang up.
 */
const MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES;

/** An answer with Vault's `{"errors": [...]}` body; the messages are meant for the client. */
export class DevStoreError extends Error {
  override name = "DevStoreError";
  constructor(
    readonly status: number,
    readonly errors: readonly string[],
    /** close the connection after answering (the request body was not read to its end) */
    readonly closeConnection = false,
  ) {
    super(errors[0] ?? `status ${status}`);
  }
}

export const permissionDenied = (): DevStoreError => new DevStoreError(403, ["permission denied"]);
/** Vault's "nothing here" for a logical path: 404 with an empty errors list. */
export const notFound = (): DevStoreError => new DevStoreError(404, []);
export const badRequest = (message: string): DevStoreError => new DevStoreError(400, [message]);

export interface Reply {
  status: number;
  body?: unknown;
}

export const noContent: Reply = { status: 204 };

/** Vault's envelope around a logical response (KV reads, token endpoints, logins). */
export function envelope(fields: { data?: unknown; auth?: unknown; leaseDuration?: number }): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: fields.leaseDuration ?? 0,
    data: fields.data ?? null,
    wrap_info: null,
    warnings: null,
    auth: fields.auth ?? null,
  };
}

/** Most `sys/` answers repeat their data at the top level, for clients older than the envelope. */
export function sysEnvelope(data: Record<string, unknown>): Record<string, unknown> {
  return { ...data, ...envelope({ data }) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, closeConnection = false): void {
  const headers: Record<string, string | number> = { "cache-control": "no-store" };
  if (closeConnection) headers.connection = "close";
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const payload = JSON.stringify(body);
  headers["content-type"] = "application/json";
  headers["content-length"] = Buffer.byteLength(payload);
  res.writeHead(status, headers).end(payload);
}

/** Reads the whole body, at most MAX_BODY_BYTES of it; larger bodies end in a 413. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = (close: boolean) => new DevStoreError(413, ["http: request body too large"], close);
  if (Number(req.headers["content-length"] ?? 0) > MAX_DRAIN_BYTES) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.off("data", onData);
        reject(tooLarge(true));
      } else if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
      }
    };
    req.on("data", onData);
    req.on("end", () => (size > MAX_BODY_BYTES ? reject(tooLarge(false)) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}

/** Parses a request body the way Vault does: empty means no fields, anything else must be a JSON object. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch {
    // JSON.parse quotes a piece of the input in its message, and the input may be a secret: say less
    throw badRequest("failed to parse JSON input: the body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("failed to parse JSON input: the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
