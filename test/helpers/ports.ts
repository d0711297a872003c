import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";

// Ports for servers that a test stops and starts again on the same port (a Redis it kills, a backend it takes
// down), and for addresses where nothing must listen. They come from below the kernel's ephemeral range, never from
// port 0: while such a server is down, any outgoing connection on the machine may be handed its port as its own
// local port, and a listener cannot bind a port that a connect()-bound socket holds (EADDRINUSE, SO_REUSEADDR or
// not). CI once lost a run that way: the killed Redis could not come back.

const [EPHEMERAL_LOW, EPHEMERAL_HIGH] = ephemeralRange();
const LOWEST = 10_000; // above the ports services commonly claim

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low as number, high as number];
  } catch {
    // not Linux: the Linux default is as good a guess as any
  }
  return [32_768, 60_999];
}

function candidate(): number {
  const below = Math.max(0, EPHEMERAL_LOW - LOWEST);
  const above = Math.max(0, 65_535 - EPHEMERAL_HIGH);
  if (below + above === 0) throw new Error(`the ephemeral range ${EPHEMERAL_LOW}-${EPHEMERAL_HIGH} leaves no port`);
  const pick = Math.floor(Math.random() * (below + above));
  return pick < below ? LOWEST + pick : EPHEMERAL_HIGH + 1 + (pick - below);
}

/** Listens on port; resolves with the error instead of throwing it (EADDRINUSE is an answer here). */
export function tryListen(server: Server, port: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const failed = (error: Error) => resolve(error);
    server.once("error", failed);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", failed);
      resolve(undefined);
    });
  });
}

async function canBind(port: number): Promise<boolean> {
  const server = createServer();
  if ((await tryListen(server, port)) !== undefined) return false;
  await new Promise((resolve) => server.close(resolve));
  return true;
}

/** A free port on 127.0.0.1 outside the ephemeral range: safe to stop a server on and start it there again. */
export async function stablePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = candidate();
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port outside the ephemeral range ${EPHEMERAL_LOW}-${EPHEMERAL_HIGH}`);
}

/** Listens on a stable port on 127.0.0.1; another worker taking it between probe and bind costs one more try. */
export async function listenOnStablePort(server: Server): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await stablePort();
    const error = await tryListen(server, port);
    if (error === undefined) return port;
    if (attempt === 3) throw error;
  }
}
