import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testPki } from "../../helpers/tls.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface CliGateway {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Every stdout line so far (the JSON log). */
  readonly output: string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Stops the process by its PID if it is still running, and removes its files. */
  stop(): Promise<void>;
}

/**
 * Runs `portcullis serve --config FILE` as its own process, the way an operator does (one worker, no admin
 * listener, port 0), with the test PKI's certificate. Resolves once it logs that it listens.
 */
export async function spawnServe(config: Record<string, unknown>): Promise<CliGateway> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-cli-"));
  const { server } = testPki();
  await writeFile(join(dir, "server.crt"), server.cert);
  await writeFile(join(dir, "server.key"), server.key, { mode: 0o600 });
  const file = join(dir, "portcullis.json");
  const full = {
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key") },
    rateLimit: { rules: [] },
    admin: { enabled: false },
    workers: 1,
    ...config,
  };
  await writeFile(file, JSON.stringify(full));
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", "--config", file], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const output: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        output.push(line);
        const parsed = safeJson(line);
        if (parsed?.msg === "portcullis listening" && typeof parsed.url === "string") resolve(parsed.url);
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output,
    exited,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function safeJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
