import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionContext } from "ava";
import { type DevStore, type DevStoreOptions, startDevStore } from "../../src/devstore/index.js";

/** Starts a store on a free loopback port and closes it when the test ends. */
export async function startStore(t: ExecutionContext, options: DevStoreOptions = {}): Promise<DevStore> {
  const store = await startDevStore(options);
  t.teardown(() => store.close());
  return store;
}

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-devstore-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are read field by field in assertions
  body: any;
}

export interface CallOptions {
  token?: string;
  /** sent as JSON unless it is already a string */
  body?: unknown;
}

/** One request to the store over real HTTP; PUT, POST and the rest as given. */
export async function call(store: DevStore, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers["x-vault-token"] = options.token;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${store.url}/v1/${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
}

/** Writes a policy (as root) and returns a fresh token that carries it. */
export async function tokenWithPolicy(store: DevStore, name: string, paths: Record<string, string[]>): Promise<string> {
  const rules = Object.fromEntries(Object.entries(paths).map(([path, capabilities]) => [path, { capabilities }]));
  const written = await call(store, "PUT", `sys/policy/${name}`, {
    token: store.rootToken,
    body: { policy: JSON.stringify({ path: rules }) },
  });
  if (written.status !== 204) throw new Error(`policy ${name} was not written: ${written.status}`);
  const created = await call(store, "POST", "auth/token/create", {
    token: store.rootToken,
    body: { policies: [name] },
  });
  return created.body.auth.client_token as string;
}
