import { parseFlags, USAGE } from "./lib/flags.js";
import { installCleanup, killAll } from "./lib/procs.js";

// `npm run bench`: the entry point. Every process a mode starts is stopped by PID, whatever happens (lib/procs.ts).

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  installCleanup();
  if (flags.mode === "memory") await (await import("./memory.js")).runMemory(flags);
  else if (flags.mode === "profile") await (await import("./profile.js")).runProfile(flags);
  else if (flags.mode === "instructions") await (await import("./instructions.js")).runInstructions(flags);
  else if (flags.mode === "render") await (await import("./throughput.js")).renderAgain(flags.render as string);
  else await (await import("./throughput.js")).runThroughput(flags);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAll();
    process.exit(1);
  },
);
