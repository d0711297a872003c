// The library face of Portcullis: re-exports only.
export { loadConfigFile, parseConfig } from "./config/load.js";
export type { Config, ConfigInput } from "./config/schema.js";
export type { DevStore, DevStoreOptions } from "./devstore/index.js";
export { startDevStore } from "./devstore/index.js";
export * from "./errors/gateway-error.js";
export { errorBody, writeError } from "./errors/normalize.js";
export type { Gateway, GatewayOptions } from "./gateway.js";
export { createGateway } from "./gateway.js";
export type { Logger } from "./observability/log.js";
export { createLogger } from "./observability/log.js";
export type { ClientIdentity, RequestContext, ResponseHook, UpstreamResponse } from "./pipeline/context.js";
export { factValue, LoggedFact } from "./pipeline/context.js";
export type { Plugin, Verdict } from "./pipeline/plugin.js";
export { definePlugin, insertAfter, insertBefore } from "./pipeline/plugin.js";
export type { RunningGateway } from "./server/run.js";
export { runGateway } from "./server/run.js";
