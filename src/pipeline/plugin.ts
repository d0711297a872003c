import { ConfigError } from "../errors/gateway-error.js";
import type { RequestContext } from "./context.js";

/** A stage either answered the request (and the pipeline stops) or lets the next stage run. */
export type Verdict = "continue" | "answered";

export interface Plugin {
  /** Unique in a pipeline; other plugins are placed before or after it by this name. */
  readonly name: string;
  handle(ctx: RequestContext): Promise<Verdict> | Verdict;
  /** Releases what the plugin holds (connections, timers) when the gateway closes. */
  close?(): Promise<void> | void;
}

/**
 * Types a plugin literal; nothing more.
 * @example
 * const audit = definePlugin({ name: "audit", handle(ctx) { log(ctx.path); return "continue"; } });
 */
export function definePlugin(plugin: Plugin): Plugin {
  return plugin;
}

function indexOf(plugins: readonly Plugin[], anchor: string): number {
  const at = plugins.findIndex((p) => p.name === anchor);
  if (at === -1) throw new ConfigError(`plugins: there is no plugin named "${anchor}"`);
  return at;
}

/** Returns a new list with `added` placed just before the plugin named `anchor`. */
export function insertBefore(plugins: readonly Plugin[], anchor: string, added: Plugin): Plugin[] {
  const at = indexOf(plugins, anchor);
  return [...plugins.slice(0, at), added, ...plugins.slice(at)];
}

/** Returns a new list with `added` placed just after the plugin named `anchor`. */
export function insertAfter(plugins: readonly Plugin[], anchor: string, added: Plugin): Plugin[] {
  const at = indexOf(plugins, anchor) + 1;
  return [...plugins.slice(0, at), added, ...plugins.slice(at)];
}

/** Refuses a pipeline in which two plugins share a name: placement by name would be ambiguous. */
export function assertUniqueNames(plugins: readonly Plugin[]): void {
  const seen = new Set<string>();
  for (const plugin of plugins) {
    if (seen.has(plugin.name)) throw new ConfigError(`plugins: two plugins are named "${plugin.name}"`);
    seen.add(plugin.name);
  }
}
