import { createHash } from "node:crypto";
import { once } from "node:events";
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from "node:http";
import { request } from "node:https";
import { monitorEventLoopDelay } from "node:perf_hooks";
import test, { type ExecutionContext } from "ava";
import type { ConfigInput } from "../../../src/config/schema.js";
import { type Responder, startBackend, TEST_TOKEN, type TestBackend } from "../../helpers/backend.js";
import { startGateway, type TestGateway } from "../../helpers/gateway.js";
import { testPki } from "../../helpers/tls.js";

/** Every forwarding engine the gateway can be configured with: each conformance case runs against all of them. */
export const ENGINES = ["http-proxy", "undici"] as const;
export type EngineName = (typeof ENGINES)[number];

type Case = (t: ExecutionContext, engine: EngineName) => Promise<void>;

/** Registers the case once per engine; the title names the engine, so a failure says which one drifted. */
export function conformance(title: string, body: Case): void {
  for (const engine of ENGINES) test(`${engine}: ${title}`, (t) => body(t, engine));
}

/** For cases that measure time: they run one after another, not beside the file's other cases. */
conformance.serial = (title: string, body: Case): void => {
  for (const engine of ENGINES) test.serial(`${engine}: ${title}`, (t) => body(t, engine));
};

/**
 * Runs `work` and says how late the event loop ran timers meanwhile (ms): on a loaded machine a late answer may be
 * the scheduler's doing, and a timing bound should not blame the engine for it.
 */
export async function withLoopDelay<T>(work: () => Promise<T>): Promise<{ result: T; loopDelayMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  try {
    const result = await work();
    return { result, loopDelayMs: histogram.max / 1e6 };
  } finally {
    histogram.disable();
  }
}

/** The gateway over real TLS in front of `url`, forwarding with `engine`; closed when the test ends. */
export async function gatewayFor(
  t: ExecutionContext,
  engine: EngineName,
  url: string,
  config: Omit<ConfigInput, "upstream"> & { upstream?: ConfigInput["upstream"] } = {},
): Promise<TestGateway> {
  const gw = await startGateway({ ...config, upstream: { ...config.upstream, url, engine } });
  t.teardown(() => gw.close());
  return gw;
}

/** The recording test backend (answering as told) and a gateway in front of it. */
export async function setup(
  t: ExecutionContext,
  engine: EngineName,
  responder?: Responder,
  config: Omit<ConfigInput, "upstream"> & { upstream?: ConfigInput["upstream"] } = {},
): Promise<{ backend: TestBackend; gw: TestGateway }> {
  const backend = await startBackend(responder);
  t.teardown(() => backend.close());
  return { backend, gw: await gatewayFor(t, engine, backend.url, config) };
}

/** Starts a GET through the gateway on a connection of its own; the caller reads or drops the response. */
export function open(gw: TestGateway, path: string): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const req = request({
    host: "127.0.0.1",
    port: gw.port,
    path,
    ca: testPki().ca.cert,
    servername: "localhost",
    agent: false,
    headers: { "x-nomad-token": TEST_TOKEN },
  });
  req.on("error", () => {}); // aborting cases destroy it on purpose
  req.end();
  const response = once(req, "response").then(([res]) => res as IncomingMessage);
  response.catch(() => {}); // a case that drops the request early never awaits it
  return { req, response };
}

export interface Download {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly bytes: number;
  readonly sha256: string;
}

/** Reads a whole response without keeping it: its size and hash. */
export async function download(gw: TestGateway, path: string): Promise<Download> {
  const res = await open(gw, path).response;
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest("hex") };
}

export { eventually, sleep } from "../../helpers/wait.js";
