import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors/gateway-error.js";
import { applyOverrides, type ConfigFlags, envOverrides, flagOverrides, type Override } from "./overrides.js";
import { type Config, type ConfigInput, configSchema } from "./schema.js";

/**
 * Validates a configuration object; a bad key or value stops with a message naming the key, value and expectation.
 * `sources` (dotted key -> variable or flag) adds where an overridden value came from to its message.
 */
export function parseConfig(input: unknown, sources: ReadonlyMap<string, string> = new Map()): Config {
  const result = configSchema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => describeIssue(issue, sources));
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

function describeIssue(issue: z.core.$ZodIssue, sources: ReadonlyMap<string, string>): string {
  const key = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length > 0 ? `${key}.` : "";
    return `  - ${issue.keys.map((k) => prefix + k).join(", ")}: unknown key`;
  }
  const got = "input" in issue && issue.input !== undefined ? ` (got ${shown(key, issue.input)})` : "";
  const source = sources.get(key);
  return `  - ${key}: ${issue.message}${got}${source === undefined ? "" : ` (set by ${source})`}`;
}

// an error message goes to a terminal or a CI log: it names a bad secret, never prints it
function shown(key: string, value: unknown): string {
  if (key === "secret" || key.endsWith(".password")) {
    return typeof value === "string" ? `a value of ${value.length} characters` : typeof value;
  }
  if (typeof value === "string" && URL.canParse(value)) {
    const url = new URL(value);
    if (url.password !== "") {
      url.password = "***";
      return JSON.stringify(url.href);
    }
  }
  return JSON.stringify(value);
}

export interface LoadConfigOptions {
  /** A YAML or JSON file; without one the defaults are the base. */
  file?: string | undefined;
  /** PORTCULLIS_* variables override the file (default: none; the CLI passes process.env). */
  env?: NodeJS.ProcessEnv;
  /** Command-line flags override the file and the environment. */
  flags?: ConfigFlags;
}

/** The configuration `serve` and `check` run with: file, then environment, then flags, validated once. */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const data = options.file === undefined ? {} : await readConfigFile(options.file);
  const overrides: Override[] = [...envOverrides(options.env ?? {}), ...flagOverrides(options.flags ?? {})];
  const sources = new Map(overrides.map((o) => [o.key, o.source]));
  return parseConfig(applyOverrides(data, overrides), sources);
}

/** Reads a YAML or JSON file (YAML is a superset of JSON) and validates it. */
export async function loadConfigFile(file: string, overrides: ConfigInput = {}): Promise<Config> {
  return parseConfig(merge(await readConfigFile(file), overrides as Record<string, unknown>));
}

/** A file's data, not yet validated; unreadable, unparsable or not an object is a ConfigError naming the file. */
async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    // yaml's message goes on to quote the offending line, which may be a secret or a password: keep the first line
    const reason = (error as Error).message.split("\n", 1)[0];
    throw new ConfigError(`configuration file ${file} is not valid YAML or JSON: ${reason}`);
  }
  if (data !== null && data !== undefined && (typeof data !== "object" || Array.isArray(data))) {
    throw new ConfigError(`configuration file ${file} must hold an object`);
  }
  return (data ?? {}) as Record<string, unknown>;
}

/** Deep-merges plain objects; arrays and scalars of `override` replace those of `base`. */
export function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = isPlainObject(value) && isPlainObject(current) ? merge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
