import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probe } from "./probe.js";
import { freePort, register, stopByPid, waitFor, watchdog } from "./procs.js";

// Row (f): nginx as a TLS reverse proxy with a keep-alive upstream pool, in the foreground (daemon off) with its
// own prefix, pid and log files under the run's temp dir, stopped by the master's PID.

export const NGINX_BIN = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"].find((bin) => existsSync(bin));

export interface BenchNginx {
  readonly port: number;
  /** The master; its worker is a child, so the process tree covers both. */
  readonly pid: number;
  readonly accessLog: string;
  stop(): Promise<void>;
}

export function nginxVersion(): string | undefined {
  if (NGINX_BIN === undefined) return undefined;
  try {
    // nginx -v writes to stderr
    const out = execFileSync(NGINX_BIN, ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return out.trim() || undefined;
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? "").trim() || undefined;
  }
}

export async function startNginx(
  dir: string,
  options: { backendPort: number; certFile: string; keyFile: string },
): Promise<BenchNginx> {
  if (NGINX_BIN === undefined) throw new Error("nginx is not installed");
  mkdirSync(join(dir, "logs"), { recursive: true });
  const port = await freePort();
  const accessLog = join(dir, "logs", "access.log");
  // one worker: Portcullis and the other Node rows are one process on one core, so is nginx here
  const conf = `
daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "logs", "error.log")} warn;
events { worker_connections 4096; }
http {
  access_log ${accessLog} combined buffer=64k flush=1s;
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  upstream backend {
    server 127.0.0.1:${options.backendPort};
    keepalive 64;
    keepalive_timeout 600s;
  }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${options.certFile};
    ssl_certificate_key ${options.keyFile};
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const confFile = join(dir, "nginx.conf");
  writeFileSync(confFile, conf);
  const child = spawn(NGINX_BIN, ["-p", dir, "-c", confFile, "-e", join(dir, "logs", "error.log")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (child.pid === undefined) throw new Error("nginx: could not spawn");
  register(child.pid, "nginx");
  watchdog(child.pid);
  let errText = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errText = (errText + chunk.toString("utf8")).slice(-4096);
  });
  try {
    await waitFor("nginx", 10_000, async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${errText}`);
      return (await probe({ url: `https://127.0.0.1:${port}/` })).status > 0;
    });
  } catch (error) {
    await stopByPid(child, "SIGKILL");
    throw new Error(`nginx did not start: ${errText || (error as Error).message}`);
  }
  return {
    port,
    pid: child.pid,
    accessLog,
    // SIGQUIT: graceful shutdown of master and workers
    stop: () => stopByPid(child, "SIGQUIT", 5_000),
  };
}
