#!/usr/bin/env node
import { parseArgs } from "node:util";
import { ConfigError } from "../errors/gateway-error.js";
import { ensureDevCerts } from "../tls/dev-certs.js";
import { runDev } from "./dev.js";
import { runCheck, runServe } from "./serve.js";

const USAGE: Record<string, string> = {
  main: `portcullis — a TLS-terminating gateway for Vault-style secret stores

Usage: portcullis <command> [options]

Commands:
  dev          dev certificates + embedded secret store + gateway, on loopback (what \`npm start\` runs)
  serve        run the gateway from a configuration file
  check        validate a configuration file and the certificates it names, then exit
  certs init   write development certificates (CA, server, client) under a folder

Run \`portcullis <command> --help\` for the options of one command.`,
  dev: `Usage: portcullis dev [--host 127.0.0.1] [--port 8200] [--certs-dir certs] [--data FILE] [--log-level info]

  --data FILE   keep the dev store's secrets and tokens in FILE across restarts (atomic writes)`,
  serve: "Usage: portcullis serve --config FILE",
  check: "Usage: portcullis check --config FILE",
  certs: "Usage: portcullis certs init [--dir certs]",
};

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
          "log-level": { type: "string", default: "info" },
        },
      });
      const port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new ConfigError(`--port: not a port number: ${values.port}`);
      await runDev({
        host: values.host,
        port,
        certsDir: values["certs-dir"],
        logLevel: values["log-level"],
        ...(values.data === undefined ? {} : { dataFile: values.data }),
      });
      return;
    }
    case "serve":
    case "check": {
      const { values } = parseArgs({ args: rest, options: { config: { type: "string", short: "c" } } });
      if (values.config === undefined) throw new ConfigError(`${command} needs --config FILE`);
      if (command === "serve") await runServe(values.config);
      else {
        await runCheck(values.config);
        process.stdout.write(`${values.config}: configuration and certificates are valid\n`);
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
