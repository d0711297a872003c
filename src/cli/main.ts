#!/usr/bin/env node
import { parseArgs } from "node:util";
import { parseHostPort } from "../config/overrides.js";
import { ConfigError } from "../errors/gateway-error.js";
import { USAGE } from "./usage.js";

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE.main}\n`);
    return;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${USAGE[command] ?? USAGE.main}\n`);
    return;
  }
  switch (command) {
    case "dev": {
      const { values } = parseArgs({
        args: rest,
        options: {
          host: { type: "string", default: "127.0.0.1" },
          port: { type: "string", default: "8200" },
          "certs-dir": { type: "string", default: "certs" },
          data: { type: "string" },
          admin: { type: "string", default: "127.0.0.1:9464" },
          "log-level": { type: "string", default: "info" },
        },
      });
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new ConfigError(`--port: not a port number: ${values.port}`);
      const { runDev } = await import("./dev.js"); // each command loads only what it runs: startup stays short
      await runDev({
        host: values.host,
        port,
        certsDir: values["certs-dir"],
        logLevel: values["log-level"],
        admin: values.admin === "off" ? false : parseHostPort(values.admin, "--admin"),
        ...(values.data === undefined ? {} : { dataFile: values.data }),
      });
      return;
    }
    case "serve":
    case "check": {
      const { values } = parseArgs({
        args: rest,
        options: {
          config: { type: "string", short: "c" },
          listen: { type: "string" },
          upstream: { type: "string" },
          "log-level": { type: "string" },
          admin: { type: "string" },
          workers: { type: "string" },
        },
      });
      const options = {
        configFile: values.config,
        flags: {
          listen: values.listen,
          upstream: values.upstream,
          logLevel: values["log-level"],
          admin: values.admin,
          workers: values.workers,
        },
      };
      const { runCheck, runServe } = await import("./serve.js");
      if (command === "serve") await runServe(options);
      else {
        const config = await runCheck(options);
        const workers = config.workers === undefined ? "one per core" : String(config.workers);
        process.stdout.write(
          `${values.config ?? process.env.PORTCULLIS_CONFIG}: configuration and certificates are valid ` +
            `(listen ${config.listen.host}:${config.listen.port}, upstream ${config.upstream.url}, workers ${workers})\n`,
        );
      }
      return;
    }
    case "certs": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { dir: { type: "string", default: "certs" } },
      });
      if (positionals[0] !== "init") throw new ConfigError(USAGE.certs ?? "");
      const { ensureDevCerts } = await import("../tls/dev-certs.js");
      const files = await ensureDevCerts(values.dir);
      process.stdout.write(
        files.created
          ? `development certificates written to ${values.dir}/ (${files.reason ?? "new"}); CA: ${files.ca.cert}\n`
          : `development certificates in ${values.dir}/ are valid and were kept; CA: ${files.ca.cert}\n`,
      );
      return;
    }
    default:
      throw new ConfigError(`unknown command "${command}"\n\n${USAGE.main}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const known = error instanceof ConfigError || (error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION";
  process.stderr.write(`portcullis: ${known ? (error as Error).message : String((error as Error).stack ?? error)}\n`);
  process.exit(known ? 2 : 1);
});
