import { createHash } from "node:crypto";
import { Command } from "./ioredis.js";
import type { RedisClient } from "./redis.js";

// Replies are read as UTF-8 strings (the scripts answer decimal text), as ioredis' own commands read them
const AS_TEXT = { replyEncoding: "utf8" } as const;

/**
 * A Lua script run with EVALSHA, its body sent once more with EVAL when Redis does not know it (NOSCRIPT: a
 * restarted, flushed or failed-over server), as ioredis' defineCommand does. Written here rather than through
 * defineCommand because that wraps every call in an argument copy, a second Command class, a per-call closure and
 * a callback adapter: 4 k instructions per call, counted side by side (bench --instructions), as much as the rest
 * of the limit's own bookkeeping. The commands are ioredis' own, so routing (Cluster slots), reconnection and
 * replies stay ioredis'. Unlike defineCommand, a new connection gets EVALSHA first too: the first call on a server
 * that never saw the script (or lost it) costs two round trips, once.
 */
export class LuaScript {
  readonly #lua: string;
  readonly #sha: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = createHash("sha1").update(lua).digest("hex");
  }

  /**
   * Runs the script on `keys` keys: `keysThenArgs` holds the keys, then ARGV. Resolves the script's reply; never
   * throws, it rejects.
   */
  run(client: RedisClient, keys: number, keysThenArgs: readonly (string | number)[]): Promise<unknown> {
    // a client made with a keyPrefix prefixes the keys of its own commands: these are its commands too
    const { keyPrefix } = client.options;
    const options = keyPrefix === undefined || keyPrefix === "" ? AS_TEXT : { ...AS_TEXT, keyPrefix };
    try {
      const command = new Command("evalsha", [this.#sha, keys, ...keysThenArgs], options);
      client.sendCommand(command);
      return command.promise.catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.includes("NOSCRIPT")) throw error;
        const again = new Command("eval", [this.#lua, keys, ...keysThenArgs], options);
        client.sendCommand(again);
        return again.promise;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
