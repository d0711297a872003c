import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { DEFAULT_POLICY_TEXT, type Policy, parsePolicy } from "./policy.js";

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isStringMap = (value: unknown): value is Record<string, string> =>
  isPlainObject(value) && Object.values(value).every((item) => typeof item === "string");

const tokenSchema = z.object({
  accessor: z.string(),
  policies: z.array(z.string()),
  path: z.string(),
  displayName: z.string(),
  meta: z.custom<Record<string, string>>(isStringMap, "meta must be an object of strings").nullable(),
  /** unix milliseconds */
  issuedAt: z.number(),
  /** the TTL the token was created with, in seconds; 0 = never expires */
  creationTtl: z.number(),
  /** unix milliseconds, or null for a token that never expires */
  expiresAt: z.number().nullable(),
  renewable: z.boolean(),
  /** SHA-256 of the parent token; revoking or expiring the parent ends this token too. Null = orphan. */
  parent: z.string().nullable(),
});
export type TokenRecord = z.infer<typeof tokenSchema>;

const userSchema = z.object({ passwordHash: z.string(), policies: z.array(z.string()), tokenTtl: z.number() });
export type UserRecord = z.infer<typeof userSchema>;

/**
 * Maps are written as lists of [key, value] pairs, and secret data passes through unparsed: a schema that copies
 * objects key by key would drop a key named "__proto__", and a restart must not lose an acknowledged write.
 */
const entries = <T extends z.ZodType>(value: T) => z.array(z.tuple([z.string(), value]));
const stateSchema = z.object({
  version: z.literal(1),
  kv: entries(z.custom<Record<string, unknown>>(isPlainObject, "a secret must be an object")),
  /** keyed by the SHA-256 of the token: the file never holds a usable token */
  tokens: entries(tokenSchema),
  policies: entries(z.string()),
  users: entries(userSchema),
});

/**
 * The store's whole state, in memory, optionally mirrored to one JSON file. A change is acknowledged only after
 * `commit()` resolves, and `commit()` resolves only once a file holding that change has replaced the old one.
 */
export class Storage {
  readonly kv = new Map<string, Record<string, unknown>>();
  /** keyed by the hex SHA-256 of the token */
  readonly tokens = new Map<string, TokenRecord>();
  readonly policies = new Map<string, Policy>([["default", parsePolicy("default", DEFAULT_POLICY_TEXT)]]);
  readonly users = new Map<string, UserRecord>();
  /** the last write started, so that the next one waits for it: two renames never race */
  private writing: Promise<void> = Promise.resolve();
  /** a write queued but not yet started; it will snapshot the state when it starts */
  private queued: Promise<void> | undefined;

  private constructor(readonly file: string | undefined) {}

  /** Loads the state from `file` when it exists; a file that cannot be read as our state fails the start. */
  static async open(file?: string): Promise<Storage> {
    const storage = new Storage(file);
    if (file === undefined) return storage;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return storage;
      throw error;
    }
    try {
      const parsed = stateSchema.parse(JSON.parse(text));
      for (const [key, value] of parsed.kv) storage.kv.set(key, value);
      for (const [hash, token] of parsed.tokens) storage.tokens.set(hash, token);
      for (const [name, policyText] of parsed.policies) storage.policies.set(name, parsePolicy(name, policyText));
      for (const [name, user] of parsed.users) storage.users.set(name, user);
    } catch (error) {
      throw new Error(`devstore: ${file} does not hold a devstore state`, { cause: error });
    }
    return storage;
  }

  /**
   * Resolves once every change made before the call is on disk (at once without a file). Changes made while a
   * write is running share the next write: one rename covers them all.
   */
  commit(): Promise<void> {
    const file = this.file;
    if (file === undefined) return Promise.resolve();
    if (this.queued !== undefined) return this.queued;
    const next = this.writing
      .catch(() => undefined) // a failed write was reported to its own callers; this one tries afresh
      .then(() => {
        this.queued = undefined; // from here on, changes need a write of their own
        return writeAtomically(file, this.serialize());
      });
    this.queued = next;
    this.writing = next;
    return next;
  }

  /** Waits for the writes already asked for. */
  async flush(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  private serialize(): string {
    const now = Date.now();
    const live = [...this.tokens].filter(([, token]) => token.expiresAt === null || token.expiresAt > now);
    return JSON.stringify({
      version: 1,
      kv: [...this.kv],
      tokens: live,
      policies: [...this.policies].map(([name, policy]) => [name, policy.text]),
      users: [...this.users],
    });
  }
}

/**
 * Writes a temporary file beside the target (same file system, so the rename is atomic), fsyncs it, renames it
 * over the target and fsyncs the directory: after a crash the file is either the old state or the new one.
 */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.chmod(0o600); // the mode given to open() is narrowed by the umask, never widened: be explicit
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(file));
}

/** The rename lives in the directory entry; without this fsync a power cut could bring the old file back. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch (error) {
    // some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL") throw error;
  } finally {
    await handle?.close();
  }
}
