import type { ExecutionContext } from "ava";
import type { ConfigInput } from "../../src/config/schema.js";
import { type DevStore, startDevStore } from "../../src/devstore/index.js";
import { startGateway, type TestGateway } from "../helpers/gateway.js";

export interface Stack {
  readonly store: DevStore;
  readonly gw: TestGateway;
  readonly root: string;
}

/** The embedded store and the gateway in front of it, over TLS, as `npm start` runs them. */
export async function startStack(t: ExecutionContext, config: ConfigInput = {}): Promise<Stack> {
  const store = await startDevStore();
  t.teardown(() => store.close());
  const gw = await startGateway({ ...config, upstream: { url: store.url, ...config.upstream } });
  t.teardown(() => gw.close());
  return { store, gw, root: store.rootToken };
}

export function errorsOf(body: string): unknown {
  const parsed = JSON.parse(body) as { errors?: unknown };
  return parsed.errors;
}
