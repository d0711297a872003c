import * as http from "node:http";
import * as https from "node:https";
import { BackendUnavailableError, ConfigError } from "../../errors/gateway-error.js";

/** How the gateway reaches the backend for its own calls (token lookups, capability checks). */
export interface UpstreamClientOptions {
  /** The backend's base URL; only its origin is used, the API paths are absolute ("/v1/..."). */
  upstream: URL;
  /** The header the backend reads the token from. */
  tokenHeader?: string;
  /** Share the proxy's keep-alive agent, so these calls reuse its connections and TLS settings. */
  agent?: http.Agent | https.Agent;
  /** The whole call, connect to last body byte; past it the backend counts as unavailable. */
  timeoutMs?: number;
  /** Extra options for node's request (ca, cert, key, servername, ...). */
  requestOptions?: https.RequestOptions;
}

export interface UpstreamCall {
  readonly method: "GET" | "POST";
  /** Absolute path below the backend's origin, e.g. "/v1/auth/token/lookup-self". */
  readonly path: string;
  readonly token: string;
  readonly json?: unknown;
}

export interface UpstreamReply {
  readonly status: number;
  readonly body: Buffer;
}

export interface UpstreamClient {
  call(request: UpstreamCall): Promise<UpstreamReply>;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
// lookup-self and capabilities-self answers are a few hundred bytes; a backend sending megabytes is broken
const MAX_REPLY_BYTES = 256 * 1024;

/**
 * Makes the one boundary at which transport failures of our own backend calls become BackendUnavailableError:
 * refused, reset, TLS failure, timeout or an oversized answer. The token travels only in the header; no error
 * built here mentions it.
 */
export function createUpstreamClient(options: UpstreamClientOptions, key = "upstream"): UpstreamClient {
  const { upstream } = options;
  if (upstream.protocol !== "http:" && upstream.protocol !== "https:") {
    throw new ConfigError(`${key}: must be an http: or https: URL`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ConfigError(`${key}.timeoutMs: must be > 0`);
  const tokenHeader = (options.tokenHeader ?? "x-vault-token").toLowerCase();
  const transport = upstream.protocol === "https:" ? https : http;
  // URL keeps IPv6 brackets in hostname; node's request wants the bare address
  const hostname = upstream.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = upstream.port === "" ? undefined : Number(upstream.port);

  return {
    call({ method, path, token, json }) {
      const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
      const headers: http.OutgoingHttpHeaders = { [tokenHeader]: token, accept: "application/json" };
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = body.length;
      }
      return new Promise<UpstreamReply>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const fail = (cause: unknown): void => {
          clearTimeout(timer);
          reject(new BackendUnavailableError(undefined, { cause }));
        };
        let req: http.ClientRequest;
        try {
          req = transport.request({
            ...options.requestOptions,
            method,
            hostname,
            ...(port === undefined ? {} : { port }),
            path,
            headers,
            ...(options.agent === undefined ? {} : { agent: options.agent }),
          });
        } catch (error) {
          fail(error);
          return;
        }
        timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        req.once("error", fail);
        req.once("response", (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_REPLY_BYTES) req.destroy(new Error(`answer larger than ${MAX_REPLY_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.once("error", fail);
          res.once("end", () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
          });
          // a reply cut off mid-body ends in "close" without "end"; the promise settles once, so this is a no-op
          // after a complete reply
          res.once("close", () => {
            if (!res.complete) fail(new Error("the backend broke off its answer"));
          });
        });
        req.end(body);
      });
    },
  };
}

/** Parses a JSON reply body, or undefined when it is not JSON. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}
