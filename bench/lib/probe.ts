import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

// One request, no keep-alive, for the sanity checks before a run: does the row answer what the backend answers?

export interface ProbeReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ProbeOptions {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** The CA to verify the server with; without it, TLS is not verified (the bench's own throwaway certificate). */
  readonly ca?: Buffer;
  readonly timeoutMs?: number;
}

export function probe(options: ProbeOptions): Promise<ProbeReply> {
  const url = new URL(options.url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: "GET",
        headers: options.headers ?? {},
        agent: false,
        timeout: options.timeoutMs ?? 5_000,
        ...(url.protocol === "https:"
          ? options.ca === undefined
            ? { rejectUnauthorized: false }
            : { ca: options.ca, servername: "localhost" }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`${options.url}: no answer within ${options.timeoutMs ?? 5_000} ms`)),
    );
    req.on("error", reject);
    req.end();
  });
}
