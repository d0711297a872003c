import { writeError } from "../errors/normalize.js";
import type { RequestContext } from "./context.js";
import type { Plugin } from "./plugin.js";

/** Runs the plugins in order until one answers; every failure funnels into the one error writer. */
/** Told about our own failures, with the request they happened in (for its id, method and path). */
export type RequestErrorLogger = (error: unknown, ctx: RequestContext) => void;

export async function runPipeline(
  plugins: readonly Plugin[],
  ctx: RequestContext,
  log?: RequestErrorLogger,
): Promise<void> {
  try {
    for (const plugin of plugins) if ((await plugin.handle(ctx)) === "answered") return;
    // the proxy always answers, so reaching this line is our bug, not the client's
    throw new Error(`pipeline ended without an answer for request ${ctx.id}`);
  } catch (error) {
    writeError(ctx.res, error, { headers: ctx.responseHeaders, log: log && ((failure) => log(failure, ctx)) });
  }
}
