import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { createSecureContext, type SecureContextOptions, type Server } from "node:tls";

export interface WatchTlsOptions {
  /** The certificate, key, CA and CRL files behind the context; a change to any of them triggers a reload. */
  files: readonly string[];
  /** Told after the server switched to new material. */
  onReload?: (options: SecureContextOptions) => void;
  /** Told when new material was refused; the server keeps serving the previous certificate. */
  onError?: (error: unknown) => void;
  /** Quiet time after the last file event before reloading: renewals write several files in a row. */
  debounceMs?: number;
}

export interface TlsReloader {
  /** Loads, checks and applies the files now (the server wires this to SIGHUP); resolves whether it applied. */
  reload(): Promise<boolean>;
  /** Stops watching the files. */
  close(): void;
}

/**
 * Swaps the server's certificate when its files change or on demand. `loadOptions` must read AND check the files
 * (loadServerTls does) and return the complete options: setSecureContext resets whatever it is not given.
 * Open connections keep their session; the next handshake gets the new certificate.
 * @example
 * const tls = watchTlsFiles(server, async () => (await loadServerTls(cfg)).options, { files, onError: log.error });
 * process.on("SIGHUP", () => void tls.reload());
 */
export function watchTlsFiles(
  server: Server,
  loadOptions: () => Promise<SecureContextOptions>,
  options: WatchTlsOptions,
): TlsReloader {
  let applied: string | undefined; // digest of the material last applied, so a no-op file event changes nothing
  let queue = Promise.resolve(true);
  let timer: NodeJS.Timeout | undefined;

  const attempt = async (onlyIfChanged: boolean): Promise<boolean> => {
    try {
      const next = await loadOptions();
      const digest = materialDigest(next);
      if (onlyIfChanged && digest === applied) return false;
      createSecureContext(next); // throws on what OpenSSL refuses, before the live server is touched
      server.setSecureContext(next);
      applied = digest;
      options.onReload?.(next);
      return true;
    } catch (error) {
      options.onError?.(error);
      return false;
    }
  };
  // one reload at a time, in order: a slow earlier load must not overwrite a later one
  const enqueue = (onlyIfChanged: boolean): Promise<boolean> => {
    queue = queue.then(() => attempt(onlyIfChanged));
    return queue;
  };

  const watchers = watchDirectories(
    options.files,
    () => {
      clearTimeout(timer);
      timer = setTimeout(() => void enqueue(true), options.debounceMs ?? 200);
      timer.unref();
    },
    options.onError,
  );

  return {
    reload: () => enqueue(false),
    close() {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/**
 * Watches the directories, not the files: renewal tools replace a file by rename (certbot, Kubernetes secret
 * volumes swap a symlinked directory), which leaves a watch on the old inode silent forever.
 */
function watchDirectories(
  files: readonly string[],
  changed: () => void,
  onError: ((error: unknown) => void) | undefined,
): FSWatcher[] {
  const names = new Set(files.map((file) => basename(file)));
  const dirs = new Set(files.map((file) => dirname(resolve(file))));
  const watchers: FSWatcher[] = [];
  for (const dir of dirs) {
    try {
      const watcher = watch(dir, { persistent: false }, (_event, name) => {
        // a Kubernetes swap only touches "..data"; anything starting with ".." counts, as does an unnamed event
        if (name === null || names.has(name) || name.startsWith("..")) changed();
      });
      watcher.on("error", (error) => onError?.(error));
      watchers.push(watcher);
    } catch (error) {
      onError?.(error); // reload() still works without the watch
    }
  }
  return watchers;
}

function materialDigest(options: SecureContextOptions): string {
  const hash = createHash("sha256");
  for (const part of [options.cert, options.key, options.ca, options.crl, options.pfx]) {
    hash.update(JSON.stringify(part ?? null));
    hash.update("\0");
  }
  return hash.digest("hex");
}
