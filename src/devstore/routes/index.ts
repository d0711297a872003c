import type { Route } from "./context.js";
import { kvRoutes } from "./kv.js";
import { policyRoutes } from "./policies.js";
import { sysRoutes } from "./sys.js";
import { tokenRoutes } from "./token.js";
import { userpassRoutes } from "./userpass.js";

export type { Operation, RequestContext, Route } from "./context.js";

/** Every route the store answers; the first pattern that matches a path wins. */
export const routes: readonly Route[] = [...sysRoutes, ...policyRoutes, ...tokenRoutes, ...userpassRoutes, ...kvRoutes];

export function findRoute(path: string): { route: Route; params: string[] } | undefined {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) return { route, params: match.slice(1).map((param) => param ?? "") };
  }
  return undefined;
}
