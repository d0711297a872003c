import { Agent, get } from "node:https";

// A load of an exact number of requests, for counts that are divided by requests (instructions per request): wrk
// runs for a time and leaves requests in flight at its end. One client keeps its keep-alive connections from the
// warm-up through every count, so no count pays a TLS handshake; each connection sends its next request when the
// last answer has been read, and every answer must be 200.

export interface CountedClientOptions {
  readonly url: string;
  readonly connections: number;
  readonly headers: Record<string, string>;
  /** The CA that signed the row's certificate. */
  readonly ca: Buffer;
}

export interface CountedClient {
  /** Sends `requests` requests over the client's connections and resolves when every answer has been read. */
  send(requests: number): Promise<void>;
  close(): void;
}

export function countedClient(options: CountedClientOptions): CountedClient {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, ca: options.ca });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const request = get(options.url, { agent, headers: options.headers }, (response) => {
        response.resume();
        response.once("end", () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`${options.url} answered ${response.statusCode}`)),
        );
        response.once("error", reject);
      });
      request.once("error", reject);
    });
  return {
    async send(requests) {
      let sent = 0;
      const connection = async () => {
        while (sent < requests) {
          sent++;
          await one();
        }
      };
      await Promise.all(Array.from({ length: options.connections }, connection));
    },
    close: () => agent.destroy(),
  };
}
