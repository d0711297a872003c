const CONFIG_OPTIONS = `Options (flags win over PORTCULLIS_* variables, which win over the file):
  -c, --config FILE     YAML or JSON configuration (default: $PORTCULLIS_CONFIG)
  --listen HOST:PORT    listen.host / listen.port          ($PORTCULLIS_LISTEN)
  --upstream URL        upstream.url                       ($PORTCULLIS_UPSTREAM)
  --log-level LEVEL     log.level: fatal error warn info debug trace silent  ($PORTCULLIS_LOG_LEVEL)
  --admin HOST:PORT|off admin listener address, or off     ($PORTCULLIS_ADMIN)
  --workers N           processes (node:cluster); default one per core, 1 = no cluster  ($PORTCULLIS_WORKERS)
Also read: PORTCULLIS_REDIS_URL (or REDIS_URL) = rateLimit.redis.url, PORTCULLIS_SECRET = secret.
The README's "Configuration reference" lists every option of the file with its default.`;

/** The text of `portcullis --help` (main) and of `portcullis <command> --help`. */
export const USAGE: Record<string, string> = {
  main: `portcullis — a TLS-terminating gateway for Vault-style secret stores

Usage: portcullis <command> [options]

Commands:
  dev          dev certificates + embedded secret store + gateway, on loopback (what \`npm start\` runs)
  serve        run the gateway from a configuration file
  check        validate a configuration file and the certificates it names, then exit
  certs init   write development certificates (CA, server, client) under a folder

Run \`portcullis <command> --help\` for the options of one command.`,
  dev: `Usage: portcullis dev [options]

Development certificates (made once under --certs-dir), the embedded secret store on a loopback port, and the
gateway in front of it. Development only: the store keeps everything in memory unless --data is given.

Options:
  --host HOST           listen address (default 127.0.0.1)
  --port PORT           listen port (default 8200)
  --certs-dir DIR       where the development certificates live (default certs)
  --data FILE           keep the dev store's secrets and tokens in FILE across restarts (atomic writes)
  --admin HOST:PORT|off the admin listener: /metrics /healthz /readyz (default 127.0.0.1:9464)
  --log-level LEVEL     fatal error warn info debug trace silent (default info)`,
  serve: `Usage: portcullis serve --config FILE [options]

Runs the gateway: the HTTPS listener, the admin listener (/metrics /healthz /readyz) and, with more than one
worker, a primary process that forks the workers, replaces one that dies and drains them all on SIGTERM.
SIGHUP reloads the certificates. Exit status: 0 after a drain, 2 for a bad configuration, 1 otherwise.

${CONFIG_OPTIONS}`,
  check: `Usage: portcullis check --config FILE [options]

Validates the configuration (with the same variables and flags serve would use) and the certificates it names,
then exits: 0 when valid, 2 with a message naming each bad key, its value and what is expected.

${CONFIG_OPTIONS}`,
  certs: `Usage: portcullis certs init [--dir certs]

Writes a development CA, a server certificate for localhost/127.0.0.1/::1 and a client certificate under the
folder (keys mode 0600); valid ones already there are kept.`,
};
