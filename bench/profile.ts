import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../src/config/load.js";
import { type CpuProfile, profileMarkdown, summarizeProfile } from "./cpuprofile-summary.js";
import type { Flags } from "./lib/flags.js";
import { runLoad } from "./lib/load.js";
import { describeMachine, fixed, machineMarkdown, RESULTS_DIR, ROOT, stamp, writeResults } from "./lib/report.js";
import { benchUrl, LOAD_HEADERS, openWorkbench, startGatewayChild } from "./lib/setup.js";

// Issue 6, item 4: `node --cpu-prof` on the gateway of row (c) under load, then the top self-time functions, ours
// (src/) told apart from node's and the dependencies'. The warm-up is cut from the summary by time.

export async function runProfile(flags: Flags): Promise<void> {
  const machine = describeMachine(flags.command);
  const engine = flags.engine ?? parseConfig({}).upstream.engine;
  const connections = flags.connections[0] ?? 50;
  const bench = await openWorkbench();
  try {
    const profileDir = join(bench.dir, "profile");
    const spawnedAt = performance.now();
    const run = await startGatewayChild(
      bench,
      "profiled",
      { engine, logLevel: "info", ...(flags.noLimit ? {} : { redisUrl: bench.redis.url }) },
      { execArgv: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-name=gateway.cpuprofile"] },
    );
    const load = { url: benchUrl(run.child.port), connections, headers: LOAD_HEADERS };
    process.stderr.write(
      `profile: ${flags.warmupS} s warm-up, then ${flags.durationS} s profiled at c${connections}\n`,
    );
    await runLoad(flags.tool, { ...load, durationS: flags.warmupS });
    const skipMs = performance.now() - spawnedAt;
    const result = await runLoad(flags.tool, { ...load, durationS: flags.durationS });
    await run.child.stop(20_000); // the profile is written as the process exits
    const file = readdirSync(profileDir).find((name) => name.endsWith(".cpuprofile"));
    if (file === undefined) throw new Error(`no .cpuprofile in ${profileDir}`);
    const name = `${stamp(machine)}-profile`;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const kept = join(RESULTS_DIR, `${name}.cpuprofile`);
    copyFileSync(join(profileDir, file), kept);
    const profile = JSON.parse(readFileSync(kept, "utf8")) as CpuProfile;
    const summary = summarizeProfile(profile, { root: ROOT, skipMs });
    const markdown = [
      `# Portcullis CPU profile — ${machine.date.slice(0, 10)}`,
      "",
      machineMarkdown(machine),
      `- gateway: row (${flags.noLimit ? "d" : "c"}), engine ${engine}; \`node --cpu-prof\`; ${flags.warmupS} s warm-up (cut from the summary), ` +
        `then ${flags.durationS} s of ${flags.tool} at ${connections} connections: ${fixed(result.rps, 0)} req/s ` +
        `(slower than unprofiled), ${result.non2xx + result.errors} failed`,
      `- profile: ${kept} (open in Chrome DevTools or speedscope); summarize again with ` +
        `\`node dist/bench/cpuprofile-summary.js ${kept} --skip-ms ${fixed(skipMs, 0)}\``,
      "",
      profileMarkdown(summary, 25),
    ].join("\n");
    const paths = writeResults(name, markdown, { machine, engine, connections, load: result, skipMs, summary });
    process.stdout.write(`${markdown}\nwritten: ${paths.join(", ")}, ${kept}\n`);
  } finally {
    await bench.stopAll();
  }
}
