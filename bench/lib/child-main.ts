// The child's side of bench/lib/node-child.ts: every server the bench runs in its own process goes through here.

export interface ChildServer {
  readonly port: number;
  close(): Promise<void>;
  /** Extra numbers the parent may ask for ("stats"). */
  stats?(): unknown | Promise<unknown>;
}

interface Request {
  readonly type: string;
  readonly id?: number;
}

/**
 * Parses the options from argv[2], starts the server, tells the parent its port, and serves the parent's requests:
 * "memory" (process.memoryUsage, after a GC when --expose-gc is on), "peek" (the same without a GC), "stats",
 * "stop". Exits when the parent's IPC
 * channel closes, so a killed bench leaves no server behind.
 */
export function childMain<T>(start: (options: T) => Promise<ChildServer>): void {
  const send = (message: unknown) => process.send?.(message);
  const options = JSON.parse(process.argv[2] ?? "{}") as T;
  process.on("disconnect", () => process.exit(0));
  start(options).then(
    (server) => {
      process.on("message", (request: Request) => {
        const reply = (data: unknown) => send({ type: "reply", id: request.id, data });
        switch (request.type) {
          case "memory": {
            const gc = (globalThis as { gc?: () => void }).gc;
            gc?.();
            reply({ ...process.memoryUsage(), gcRan: gc !== undefined });
            break;
          }
          case "peek":
            reply(process.memoryUsage()); // no GC: what is held right now, garbage included
            break;
          case "stats":
            void Promise.resolve(server.stats?.() ?? {}).then(reply);
            break;
          case "stop": {
            // bounded: a stuck close must not keep --cpu-prof from writing its profile at exit
            const deadline = setTimeout(() => process.exit(0), 3_000);
            void server.close().finally(() => {
              clearTimeout(deadline);
              process.exit(0);
            });
            break;
          }
        }
      });
      send({ type: "ready", port: server.port });
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
