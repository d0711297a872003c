import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors/gateway-error.js";
import { type Config, type ConfigInput, configSchema } from "./schema.js";

/** Validates a configuration object; a bad key or value stops with a message naming the key, value and expectation. */
export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(`invalid configuration:\n${result.error.issues.map(describeIssue).join("\n")}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length > 0 ? `${key}.` : "";
    return `  - ${issue.keys.map((k) => prefix + k).join(", ")}: unknown key`;
  }
  const got = "input" in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : "";
  return `  - ${key}: ${issue.message}${got}`;
}

/** Reads a YAML or JSON file (YAML is a superset of JSON) and validates it. */
export async function loadConfigFile(file: string, overrides: ConfigInput = {}): Promise<Config> {
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
    throw new ConfigError(`configuration file ${file} is not valid YAML or JSON: ${(error as Error).message}`);
  }
  if (data !== null && data !== undefined && (typeof data !== "object" || Array.isArray(data))) {
    throw new ConfigError(`configuration file ${file} must hold an object`);
  }
  return parseConfig(merge((data ?? {}) as Record<string, unknown>, overrides as Record<string, unknown>));
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
