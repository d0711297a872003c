import cluster from "node:cluster";
import { fstatSync } from "node:fs";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  readonly level: string;
  /** Where lines go; stdout when absent (tests pass a stream to capture them). */
  readonly destination?: DestinationStream;
  /**
   * On stdout, lines are gathered up to this many bytes (default DEFAULT_BUFFER_BYTES, most MAX_BUFFER_BYTES) and
   * written at the latest `flushMs` later and at exit; 0 writes every line at once. One write per line was a trip
   * to the I/O thread pool and back for every request: gathering cut the gateway's CPU per forwarded request by
   * about 6 %.
   */
  readonly bufferBytes?: number;
  /** The longest a buffered line waits (default FLUSH_MS). */
  readonly flushMs?: number;
  /** Most bytes waiting for stdout before lines are dropped (default MAX_BACKLOG_BYTES). */
  readonly backlogBytes?: number;
  /**
   * Other processes write to this stdout too (the workers of `serve --workers N` and their primary): then, unless
   * it is a file, every write stays within PIPE_BUF. Default: whether this process is a cluster worker.
   */
  readonly sharedStdout?: boolean;
}

/** The longest a buffered line waits on stdout by default. */
export const FLUSH_MS = 250;

// Every write to stdout is whole lines; where workers share a pipe (`serve --workers N`), at most PIPE_BUF (4096)
// bytes, which a pipe writes atomically: their lines never interleave mid-line.
const PIPE_BUF = 4096;

/**
 * Most bytes of one write to stdout when no other process shares it, or it is a file. sonic-boom writes one chunk
 * per round trip to the I/O thread pool: at 4 KiB a chunk it fell behind a busy gateway's access log (25 MiB
 * waiting after 1 M requests in 170 s, 8 k a second).
 */
const CATCH_UP_WRITE_BYTES = 64 * 1024;

/** Most bytes gathered before a write (sonic-boom's minLength stays below its maxWrite). */
export const MAX_BUFFER_BYTES = CATCH_UP_WRITE_BYTES - 1;

/**
 * Bytes gathered by default: about 70 access lines per trip to the thread pool. Measured against 4 KiB (with the
 * lines held as Buffers, below): 1-1.5 µs less CPU per line; more gathers little more, and is more to lose when the
 * process is killed.
 */
export const DEFAULT_BUFFER_BYTES = 32 * 1024;

/**
 * Most bytes of lines waiting for stdout. A reader that stalls (a hung log collector on the other end of a pipe) or
 * falls behind would otherwise grow the gateway's memory without end; past this, lines are dropped and counted on
 * stderr, and logging resumes as the backlog drains.
 */
export const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

/** How often, at most, the count of dropped lines is reported on stderr. */
const DROP_REPORT_MS = 10_000;

// Defense in depth: no code of ours logs these, but a mistake must not put a credential in a log line.
const CREDENTIAL_HEADERS = ["cookie", "set-cookie", "authorization", "x-vault-token", "x-nomad-token"];
const REDACTED_PATHS = [
  "token",
  "*.token",
  "client_token",
  "*.client_token",
  "*.*.client_token",
  "password",
  "*.password",
  "secret",
  "*.secret",
  // headers logged as they are, one or two levels down (req.headers, err.response.headers, ctx.upstreamHeaders)
  ...CREDENTIAL_HEADERS.flatMap((name) => [
    `headers["${name}"]`,
    `*.headers["${name}"]`,
    `*.*.headers["${name}"]`,
    `upstreamHeaders["${name}"]`,
    `*.upstreamHeaders["${name}"]`,
  ]),
];

// The destinations of loggers made here: their lines' format is known (the access log frames its lines itself)
const ownFormat = new WeakSet<object>();

/** The longest an orderly exit waits for log lines still being written. */
const EXIT_FLUSH_MS = 2_000;

/** What an orderly exit needs to know of a stdout destination made here. */
interface StdoutState {
  /** Nothing waits and nothing is being written. */
  settled(): boolean;
  /** Gives up the lines still waiting, so that the exit hook does not wait for a stdout that takes nothing. */
  abandon(): void;
}
const stdoutStates = new WeakMap<object, StdoutState>();

interface PinoStream {
  [pino.symbols.streamSym]?: DestinationStream;
}

let exiting = false;

/**
 * Exits once the lines logged so far have reached stdout, or after EXIT_FLUSH_MS when stdout is not being read (the
 * lines still waiting are then given up). pino's exit hook writes the lines still gathered, but not a chunk the I/O
 * thread pool has in hand (or waits to write again because the pipe was full): a bare process.exit would drop or
 * split it. The first call decides the exit code; later ones (a signal during a stop) change nothing.
 */
export function exitAfterFlush(logger: Logger, code: number): void {
  if (exiting) return;
  exiting = true;
  process.exitCode = code;
  const stream = (logger as unknown as PinoStream)[pino.symbols.streamSym];
  const state = stream === undefined ? undefined : stdoutStates.get(stream);
  const exit = (gaveUp: boolean) => {
    if (gaveUp) state?.abandon();
    process.exit(code);
  };
  setTimeout(() => exit(true), EXIT_FLUSH_MS).unref();
  const flush = () => {
    try {
      // a flush ends on 'drain' (what waits fits under the gather size), and a write may start before its
      // callback: flushed again until nothing waits
      logger.flush(() => (state === undefined || state.settled() ? exit(false) : flush()));
    } catch {
      exit(true); // a destroyed destination: nothing more can be written
    }
  };
  flush();
}

/** Whether `destination` is written in createLogger()'s format only. */
export function hasOwnFormat(destination: object): boolean {
  return ownFormat.has(destination);
}

/** The structured JSON logger every part of the gateway writes through. */
export function createLogger(options: LogOptions): Logger {
  const destination =
    options.destination ??
    stdout({
      bufferBytes: options.bufferBytes ?? DEFAULT_BUFFER_BYTES,
      flushMs: options.flushMs ?? FLUSH_MS,
      backlogBytes: options.backlogBytes ?? MAX_BACKLOG_BYTES,
      shared: options.sharedStdout ?? cluster.isWorker,
    });
  // pino hands a destination that asks for it (multistream) each line's level and object, which a line framed
  // elsewhere would not carry: such destinations get every line from pino
  if (!(destination as unknown as Record<symbol, unknown>)[Symbol.for("pino.metadata")]) ownFormat.add(destination);
  return pino(
    {
      level: options.level,
      // pid tells the workers of `serve --workers N` apart
      base: { service: "portcullis", pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

interface StdoutOptions {
  readonly bufferBytes: number;
  readonly flushMs: number;
  readonly backlogBytes: number;
  readonly shared: boolean;
}

function stdout({ bufferBytes, flushMs, backlogBytes, shared }: StdoutOptions): DestinationStream {
  // pino flushes a destination it made synchronously at exit (also after an uncaught exception): the lines still
  // in the buffer are lost only when the process dies without exiting (SIGKILL, an abort, running out of memory)
  const maxWrite = shared && !stdoutIsFile() ? PIPE_BUF : CATCH_UP_WRITE_BYTES;
  const destination = pino.destination({
    dest: 1,
    sync: false,
    maxWrite,
    // at least 1: at 0, sonic-boom's flush() calls back at once, even while a write is in the thread pool's hands
    minLength: Math.max(1, Math.min(bufferBytes, maxWrite - 1)),
    maxLength: backlogBytes,
    contentMode: "buffer",
    // sonic-boom's timer (unref'd, stopped when the stream ends): writes what was gathered, and tries a failed
    // write again when no new line comes
    periodicFlush: flushMs,
  });
  acceptStrings(destination);
  watchFailures(destination);
  return destination;
}

/**
 * Lets a buffer-mode sonic-boom take the strings pino writes. In its text mode sonic-boom measures the UTF-8 length
 * of the whole chunk being gathered for every line it adds (a cost that grows with the chunk) and encodes each
 * chunk twice; in buffer mode each line is encoded once, here, and a chunk is one concatenation. Measured per
 * access line (CPU of the whole process, thread pool included): 6.7-9.3 µs in text mode, 4.2-6.4 µs this way with
 * 32 KiB chunks (formatting alone: 2.7-4).
 */
function acceptStrings(destination: ReturnType<typeof pino.destination>): void {
  const writeBuffer = destination.write.bind(destination) as unknown as (data: Buffer) => boolean;
  destination.write = ((data: string | Buffer): boolean =>
    writeBuffer(typeof data === "string" ? Buffer.from(data, "utf8") : data)) as typeof destination.write;
}

/**
 * Keeps the gateway running, and says so on stderr (which does not go through sonic-boom, at most every
 * DROP_REPORT_MS for each kind), when lines are dropped past the backlog and when stdout fails to take writes (a
 * full disk, an I/O error): the lines wait within the backlog and the failed chunk is tried again, instead of the
 * 'error' event crashing the process. After EPIPE (the reader is gone) pino discards every line.
 *
 * While the last write failed, the exit hook's synchronous flush is skipped: sonic-boom's flushSync tries again
 * until it succeeds, so a full disk would hold the exiting process forever (and in buffer mode it re-queues the
 * failed chunk without its length, cutting the lines after it).
 */
function watchFailures(destination: ReturnType<typeof pino.destination>): void {
  let dropped = 0;
  let failed = 0;
  const reportedAt = { dropped: Number.NEGATIVE_INFINITY, failed: Number.NEGATIVE_INFINITY };
  const report = (kind: keyof typeof reportedAt, fields: Record<string, unknown>) => {
    const now = performance.now();
    if (now - reportedAt[kind] < DROP_REPORT_MS) return;
    reportedAt[kind] = now;
    const line = { level: "error", time: new Date().toISOString(), service: "portcullis", pid: process.pid, ...fields };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  };
  destination.on("drop", () => {
    dropped++;
    report("dropped", {
      droppedLines: dropped,
      msg: "log lines dropped: stdout is not read as fast as the gateway writes",
    });
  });
  let failing = false;
  let last: unknown;
  destination.on("error", (error: NodeJS.ErrnoException) => {
    if (error === last) return; // pino hands its first error on by emitting it once more
    last = error;
    failing = true;
    failed++;
    const msg =
      error.code === "EPIPE"
        ? "stdout was closed by its reader: log lines are discarded"
        : "writing log lines to stdout failed; retrying";
    report("failed", { failedWrites: failed, code: error.code, msg });
  });
  destination.on("write", () => {
    failing = false;
  });
  const flushSync = destination.flushSync.bind(destination);
  destination.flushSync = () => {
    if (!failing) flushSync();
  };
  const internals = destination as unknown as { _writing?: boolean; _len?: number };
  stdoutStates.set(destination, {
    settled: () => internals._writing !== true && (internals._len ?? 0) === 0,
    abandon: () => destination.destroy(),
  });
}

// Vault's older endpoints carry a token in the path (auth/token/lookup/<token>): never log that segment.
const TOKEN_IN_PATH = /^(\/v1\/auth\/token\/(?:lookup|revoke|revoke-orphan|renew)\/)[^/?]+/;

/** The path as it may be logged. */
export function loggablePath(path: string): string {
  return path.replace(TOKEN_IN_PATH, "$1[redacted]");
}

/** Whether stdout is a file: writes to a file opened for appending do not interleave, whatever their size. */
function stdoutIsFile(): boolean {
  try {
    return fstatSync(1).isFile();
  } catch {
    return false;
  }
}
