// Waiting in tests for something that happens after the client has its answer (an access line, a counter, a close).

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves true once `check` holds, false after `ms`. */
export async function eventually(check: () => boolean, ms = 2_000): Promise<boolean> {
  for (const end = performance.now() + ms; performance.now() < end; await sleep(10)) if (check()) return true;
  return check();
}
