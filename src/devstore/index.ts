export type { DevStore, DevStoreOptions } from "./server.js";
export { startDevStore } from "./server.js";
