// Slowloris against the gateway (issue 5): `npm run hardening:slowloris [-- --headers-timeout-ms 10000]`.
// Starts a gateway on 127.0.0.1 (never anything else), runs Debian's slowhttptest against it with 1000 slow-header
// connections, keeps a normal client requesting every 500 ms meanwhile, and reports how long the longest slow
// connection lived against the headers timeout, measured on the server side from accept to close.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "node:https";
import type { Socket } from "node:net";
import { parseArgs } from "node:util";
import { startHardenedGateway } from "../../test/hardening/helpers/hardened-gateway.js";
import { startBackend } from "../../test/helpers/backend.js";
import { testPki } from "../../test/helpers/tls.js";
import { Report } from "./report.js";

const { values } = parseArgs({
  options: {
    "headers-timeout-ms": { type: "string", default: "10000" },
    connections: { type: "string", default: "1000" },
    seconds: { type: "string", default: "30" },
  },
});
const headersTimeoutMs = Number(values["headers-timeout-ms"]);
const report = new Report(
  `slowloris: slowhttptest -c ${values.connections} against a headers timeout of ${headersTimeoutMs} ms`,
);

const backend = await startBackend();
const gw = await startHardenedGateway({ upstream: { url: backend.url }, limits: { headersTimeoutMs } });
const lifetimes: number[] = [];
gw.listener.server.on("connection", (socket: Socket) => {
  const opened = performance.now();
  socket.once("close", () => lifetimes.push(performance.now() - opened));
});

// the normal client: a fresh connection each time, so its own connections never count as long-lived
const agent = new Agent({ ca: testPki().ca.cert, keepAlive: false });
const normal = { ok: 0, failed: 0, slowestMs: 0 };
let attacking = true;
const client = (async () => {
  while (attacking) {
    const started = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(
        { host: "127.0.0.1", port: gw.port, path: "/v1/sys/health", agent, servername: "localhost", timeout: 5_000 },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200));
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
    normal.slowestMs = Math.max(normal.slowestMs, performance.now() - started);
    if (ok) normal.ok++;
    else normal.failed++;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
})();

const args = ["-c", values.connections, "-H", "-i", "10", "-r", "200", "-t", "GET"];
args.push("-u", `https://127.0.0.1:${gw.port}/v1/sys/health`, "-x", "24", "-p", "3", "-l", values.seconds);
process.stderr.write(`slowhttptest ${args.join(" ")}\n`);
const tool = spawn("slowhttptest", args, { stdio: ["ignore", "pipe", "pipe"] });
let toolOutput = "";
tool.stdout.on("data", (chunk: Buffer) => {
  toolOutput += chunk.toString();
});
const guard = setTimeout(
  () => tool.pid !== undefined && process.kill(tool.pid, "SIGKILL"),
  (Number(values.seconds) + 60) * 1000,
);
const [code] = await once(tool, "exit");
clearTimeout(guard);
attacking = false;
await client;
await new Promise((resolve) => setTimeout(resolve, 500));

const longest = Math.max(0, ...lifetimes);
const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"); // slowhttptest colours its report
const summary = toolOutput
  .replace(ansi, "")
  .trim()
  .split("\n")
  .slice(-6)
  .map((l) => l.trim());
report.line("slowhttptest exit code", String(code));
report.details(summary, 6);
report.line("connections the gateway accepted", lifetimes.length);
report.check(
  `longest connection lifetime (headers timeout ${headersTimeoutMs} ms)`,
  longest,
  (ms) => ms <= headersTimeoutMs + 1_500,
  `${Math.round(longest)} ms (+${Math.round(longest - headersTimeoutMs)} ms)`,
);
report.check(`normal client requests that failed (of ${normal.ok + normal.failed})`, normal.failed, (n) => n === 0);
report.line("normal client: slowest answer", `${Math.round(normal.slowestMs)} ms`);
agent.destroy();
await gw.close();
await backend.close();
report.finish();
