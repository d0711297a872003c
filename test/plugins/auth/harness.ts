import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, request, type ServerResponse } from "node:http";
import type { RequestContext } from "../../../src/pipeline/context.js";
import { definePlugin, type Plugin, type Verdict } from "../../../src/pipeline/plugin.js";
import { runPipeline } from "../../../src/pipeline/run.js";
import { closeServer, listen, type Reply, replyOf } from "../../helpers/servers.js";

/** What a token may do at the fake backend. */
export interface FakeToken {
  ttl?: number;
  policies?: string[];
  /** path (relative to /v1/) -> capabilities; absent paths answer ["deny"]. */
  capabilities?: Record<string, string[]>;
}

export interface FakeVault {
  readonly url: URL;
  readonly tokens: Map<string, FakeToken>;
  /** Calls per path, e.g. calls.get("/v1/auth/token/lookup-self"). */
  readonly calls: Map<string, number>;
  /** Bodies of capabilities-self calls, parsed. */
  readonly capabilityQueries: unknown[];
  /** "sealed": every call answers 503 as a sealed Vault does. */
  mode: "ok" | "sealed";
  /** Holds lookup-self answers until the promise settles. */
  gate: Promise<void> | undefined;
  count(path: string): number;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
};

/** A small Vault look-alike: lookup-self, capabilities-self and revoke-self, counting every call. */
export async function startFakeVault(): Promise<FakeVault> {
  const handle = async (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    vault.calls.set(path, (vault.calls.get(path) ?? 0) + 1);
    if (vault.mode === "sealed") return json(res, 503, { errors: ["Vault is sealed"] });
    const token = req.headers["x-vault-token"];
    const record = typeof token === "string" ? vault.tokens.get(token) : undefined;
    if (path === "/v1/auth/token/lookup-self" && req.method === "GET") {
      if (vault.gate !== undefined) await vault.gate;
      if (record === undefined) return json(res, 403, { errors: ["permission denied"] });
      return json(res, 200, { data: { ttl: record.ttl ?? 0, policies: record.policies ?? ["default"] } });
    }
    if (path === "/v1/sys/capabilities-self" && req.method === "POST") {
      const query = JSON.parse(body) as { paths: string[] };
      vault.capabilityQueries.push(query);
      if (record === undefined) return json(res, 403, { errors: ["permission denied"] });
      const data: Record<string, string[]> = {};
      for (const p of query.paths) data[p] = record.capabilities?.[p] ?? ["deny"];
      const only = query.paths.length === 1 ? data[query.paths[0] ?? ""] : undefined;
      return json(res, 200, { ...data, ...(only ? { capabilities: only } : {}), data });
    }
    if (path === "/v1/auth/token/revoke-self" && req.method === "POST") {
      if (record === undefined || typeof token !== "string") return json(res, 403, { errors: ["permission denied"] });
      vault.tokens.delete(token);
      res.writeHead(204).end();
      return;
    }
    json(res, 404, { errors: [] });
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => void handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  const port = await listen(server);
  const vault: FakeVault = {
    url: new URL(`http://127.0.0.1:${port}`),
    tokens: new Map(),
    calls: new Map(),
    capabilityQueries: [],
    mode: "ok",
    gate: undefined,
    count: (path) => vault.calls.get(path) ?? 0,
    close: () => closeServer(server),
  };
  return vault;
}

export const LOOKUP = "/v1/auth/token/lookup-self";
export const CAPABILITIES = "/v1/sys/capabilities-self";

/** A canned backend answer that the final stage runs the response hooks over, as the proxy will. */
export interface CannedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body?: Buffer;
}

export interface FinalStage {
  readonly plugin: Plugin;
  /** How many requests got past every earlier stage ("were forwarded"). */
  readonly forwarded: () => number;
}

/**
 * Stands in for the proxy: answers canned responses (through the response hooks) for the paths in `canned`, and
 * otherwise 200 with what the earlier stages decided.
 */
export function finalStage(
  canned: (ctx: RequestContext) => CannedResponse | undefined | Promise<CannedResponse | undefined> = () => undefined,
): FinalStage {
  let forwarded = 0;
  const plugin = definePlugin({
    name: "final",
    async handle(ctx): Promise<Verdict> {
      forwarded++;
      const response = await canned(ctx);
      if (response !== undefined) {
        for (const hook of ctx.responseHooks) {
          hook.apply({
            status: response.status,
            headers: response.headers,
            ...(hook.wantsBody && response.body ? { body: response.body } : {}),
          });
        }
        ctx.res.writeHead(response.status, response.headers).end(response.body);
        return "answered";
      }
      const echo = {
        hasToken: ctx.token !== undefined,
        tokenId: ctx.identity.tokenId ?? null,
        auth: ctx.logFields.auth ?? null,
      };
      ctx.res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(echo));
      return "answered";
    },
  });
  return { plugin, forwarded: () => forwarded };
}

export type { Reply } from "../../helpers/servers.js";

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
}

export interface TestPipeline {
  readonly url: string;
  request(path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

/** A plain node HTTP server running the plugins, with a context as the gateway builds it (path = URL path). */
export async function startPipeline(plugins: readonly Plugin[]): Promise<TestPipeline> {
  const server = createServer((req, res) => {
    const [path = "", query = ""] = (req.url ?? "").split("?", 2);
    const ctx: RequestContext = {
      id: randomUUID(),
      req,
      res,
      startedAt: performance.now(),
      secure: false,
      identity: { ip: req.socket.remoteAddress ?? "" },
      forwardedFor: req.socket.remoteAddress ?? "",
      path,
      query,
      upstreamHeaders: {},
      responseHeaders: {},
      responseHooks: [],
      logFields: {},
    };
    void runPipeline(plugins, ctx);
  });
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    request: (path, options = {}) => send(`${url}${path}`, options),
    close: () => closeServer(server),
  };
}

export function send(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      void replyOf(res).then(resolve, reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
