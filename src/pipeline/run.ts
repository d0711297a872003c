import { writeError } from "../errors/normalize.js";
import type { RequestContext } from "./context.js";
import type { Plugin } from "./plugin.js";

/** Told about our own failures, with the request they happened in (for its id, method and path). */
export type RequestErrorLogger = (error: unknown, ctx: RequestContext) => void;

/** Told which stage threw, before the error is answered and logged (metrics classify backend failures here). */
export type StageErrorHook = (error: unknown, ctx: RequestContext, stage: string) => void;

/** Runs the plugins in order until one answers; every failure funnels into the one error writer. */
export async function runPipeline(
  plugins: readonly Plugin[],
  ctx: RequestContext,
  log?: RequestErrorLogger,
  onStageError?: StageErrorHook,
): Promise<void> {
  let at = 0;
  try {
    for (; at < plugins.length; at++) {
      const verdict = (plugins[at] as Plugin).handle(ctx);
      // a stage that decided synchronously is not awaited: each await is a turn of the microtask queue
      if ((typeof verdict === "string" ? verdict : await verdict) === "answered") return;
    }
    // the proxy always answers, so reaching this line is our bug, not the client's
    throw new Error(`pipeline ended without an answer for request ${ctx.id}`);
  } catch (error) {
    const stage = plugins[at];
    try {
      if (stage !== undefined) onStageError?.(error, ctx, stage.name);
    } catch (hookError) {
      // a hook's own failure must not cost the client its answer
      log?.(hookError, ctx);
    }
    writeError(ctx.res, error, { headers: ctx.responseHeaders, log: log && ((failure) => log(failure, ctx)) });
  }
}
