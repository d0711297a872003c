import type { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// A body streaming through arrives as socket chunks, each a fresh ArrayBuffer that dies as soon as it is written
// on. V8 frees them only in a collection, and a stream allocates too little on the JS heap to cause one: ~30 MiB of
// dead chunks piled up behind a 50 MB response (bench --memory), the gateway's RSS growing by as much. So large
// bodies report what they carry, and every SCAVENGE_EVERY_BYTES (process-wide) a minor GC frees the dead chunks.
// A scavenge visits only what is alive in the young generation: 0.4-1.5 ms each (--trace-gc, in a test process holding
// gateway, backend and client), at most one per 4 MiB. It frees nothing while V8 is marking incrementally (buffers
// made meanwhile survive until the marking ends): then the peak is V8's own, as it was without this.

/** Bodies declared at least this long, or of unknown length, are counted; smaller ones never hold much. */
export const LARGE_BODY_BYTES = 1024 * 1024;
const SCAVENGE_EVERY_BYTES = 4 * 1024 * 1024;
/** However fast the traffic, at most one forced scavenge in this long (100 a second at most). */
const MIN_INTERVAL_MS = 10;

type Collect = (options: { type: "minor" }) => void;

let collect: Collect | null | undefined; // undefined: not looked up yet; null: this runtime has none
let sinceLast = 0;
let lastAt = 0;

/**
 * V8's collector: `gc` when the process runs with --expose-gc, else taken from a context created while the flag is
 * set for a moment (the flag only decides whether new contexts get the function).
 */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  collect = null;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") {
    collect = exposed as Collect;
    return collect;
  }
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    if (typeof gc === "function") collect = gc as Collect;
  } catch {
    // a runtime without it streams as before, only with a higher peak
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
  return collect;
}

function account(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < SCAVENGE_EVERY_BYTES) return;
  const now = performance.now();
  if (now - lastAt < MIN_INTERVAL_MS) return;
  sinceLast = 0;
  lastAt = now;
  collector()?.({ type: "minor" });
}

const onChunk = (chunk: Buffer) => account(chunk.length);

/** Whether a body of this declared length (a Content-Length value, or none) is counted. */
export function isLargeBody(contentLength: string | undefined): boolean {
  return contentLength === undefined || !(Number(contentLength) < LARGE_BODY_BYTES);
}

/**
 * Counts the chunks of a body as they flow, scavenging as the count passes its step. Adding the listener starts the
 * flow of a stream nobody paused explicitly: callers that need it to wait pause it again.
 */
export function scavengeAsItFlows(stream: Readable): void {
  stream.on("data", onChunk);
}
