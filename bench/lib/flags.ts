import { parseArgs } from "node:util";
import { defaultTool, type LoadTool } from "./load.js";

export const USAGE = `npm run bench -- [mode] [options]

modes (default: the interleaved throughput run):
  --memory              memory per idle TLS connection, RSS while 50 MB stream through, RSS after a soak
  --profile             node --cpu-prof of the gateway (row c) under load, summarized (top self time)
  --instructions        instructions per request of each row under valgrind's callgrind: counts, not times, so
                        they repeat within about ±1 % on a busy machine (slow: ~3 min per row)
  --render FILE.json    rewrite a throughput run's Markdown from its JSON (after a change to the report)

throughput options:
  --quick               1 repeat of 1 s warm-up + 3 s, for a smoke test
  --duration S          measured seconds per row and concurrency (default 10)
  --warmup S            warm-up seconds before each measurement (default 5)
  --repeats N           interleaved rounds (default 3)
  --connections 10,50   concurrencies (default 10,50)
  --rows a,b,...        a subset of rows: a b0 b c-http-proxy c-undici d-http-proxy d-undici e f g
  --tool wrk|autocannon the load generator (default wrk when installed)
  --baseline DIR        adds row c@<name of DIR>: row (c) run from another built checkout (DIR/dist), e.g. a git
                        worktree of the commit before a change, to compare before and after in one interleaved
                        run; may be given more than once; --engine picks its engine (default: the default)

instructions options (also --rows, --repeats, --connections, --quick):
  --requests N          requests counted per row and round (default 2000; quick 300)
  --warmup-requests N   requests before the first count of a row, for the JIT (default 5000; quick 500)

memory / profile options:
  --engine NAME         the gateway's forwarding engine (default: the configuration's default)
  --no-limit            profile: row (d), without the rate limit, to tell the limit's cost apart
  --soak S              memory: seconds of load for the "after many requests" reading (default 120; quick 10)
  --idle N              memory: idle TLS connections to open (default 10000; quick 1000)
  --stream-mb N         memory: size of the streamed response (default 50)
  --connections N       profile: connections (default 50)
  --duration S          profile: seconds profiled under load after the warm-up (default 10)
`;

export interface Flags {
  readonly mode: "throughput" | "memory" | "profile" | "instructions" | "render";
  /** The results JSON to render again (mode "render"). */
  readonly render: string | undefined;
  readonly quick: boolean;
  readonly durationS: number;
  readonly warmupS: number;
  readonly repeats: number;
  readonly connections: readonly number[];
  readonly rows: readonly string[] | undefined;
  readonly tool: LoadTool;
  readonly engine: string | undefined;
  /** Built checkouts whose gateways run as rows c@<directory name>. */
  readonly baselines: readonly string[];
  /** Profile row (d), without the rate limit. */
  readonly noLimit: boolean;
  readonly soakS: number;
  readonly idle: number;
  readonly streamMb: number;
  /** Instructions mode: requests counted per row and round, and requests before a row's first count. */
  readonly requests: number;
  readonly warmupRequests: number;
  /** The command as typed, for the report. */
  readonly command: string;
}

export function parseFlags(argv: readonly string[]): Flags | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      help: { type: "boolean", short: "h" },
      memory: { type: "boolean" },
      profile: { type: "boolean" },
      instructions: { type: "boolean" },
      requests: { type: "string" },
      "warmup-requests": { type: "string" },
      render: { type: "string" },
      quick: { type: "boolean" },
      duration: { type: "string" },
      warmup: { type: "string" },
      repeats: { type: "string" },
      connections: { type: "string" },
      rows: { type: "string" },
      tool: { type: "string" },
      engine: { type: "string" },
      baseline: { type: "string", multiple: true },
      "no-limit": { type: "boolean" },
      soak: { type: "string" },
      idle: { type: "string" },
      "stream-mb": { type: "string" },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const modes = [values.memory, values.profile, values.instructions].filter(Boolean).length;
  if (modes > 1) throw new Error("--memory, --profile and --instructions are separate runs: pick one");
  const quick = values.quick ?? false;
  const mode = values.render
    ? "render"
    : values.memory
      ? "memory"
      : values.profile
        ? "profile"
        : values.instructions
          ? "instructions"
          : "throughput";
  const tool = values.tool ?? defaultTool();
  if (tool !== "wrk" && tool !== "autocannon") throw new Error(`--tool: wrk or autocannon, not ${tool}`);
  const defaultConnections = mode === "profile" ? "50" : mode === "instructions" ? "1" : "10,50";
  return {
    mode,
    render: values.render,
    quick,
    durationS: number("--duration", values.duration, quick ? 3 : 10),
    warmupS: number("--warmup", values.warmup, quick ? 1 : 5),
    repeats: number("--repeats", values.repeats, quick || mode === "instructions" ? 1 : 3),
    connections: (values.connections ?? defaultConnections).split(",").map((c) => number("--connections", c, 0)),
    rows: values.rows?.split(",").map((row) => row.trim()),
    tool,
    engine: values.engine,
    baselines: values.baseline ?? [],
    noLimit: values["no-limit"] ?? false,
    soakS: number("--soak", values.soak, quick ? 10 : 120),
    idle: number("--idle", values.idle, quick ? 1_000 : 10_000),
    streamMb: number("--stream-mb", values["stream-mb"], 50),
    requests: number("--requests", values.requests, quick ? 300 : 2_000),
    warmupRequests: number("--warmup-requests", values["warmup-requests"], quick ? 500 : 5_000),
    command: ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" "),
  };
}

function number(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${flag}: a positive number, not ${value}`);
  return parsed;
}
