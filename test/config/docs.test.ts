import { readFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import type { z } from "zod";
import { ENV_VARS } from "../../src/config/overrides.js";
import { configSchema } from "../../src/config/schema.js";

// the configuration reference is a section of the README
const DOC = join(import.meta.dirname, "../../README.md");

type Def = Record<string, unknown> & { type: string };

/** The schema under its defaults, optionals and transforms. */
function unwrap(schema: z.core.$ZodType): Def {
  const def = schema._zod.def as unknown as Def;
  if (["default", "prefault", "optional"].includes(def.type)) return unwrap(def.innerType as z.core.$ZodType);
  if (def.type === "pipe") return unwrap(def.in as z.core.$ZodType);
  return def;
}

/** Every option of the schema, dotted; the fields of list items as `key[].field`. Sections are not options. */
function keysOf(schema: z.core.$ZodType, prefix = "", out: string[] = []): string[] {
  const def = unwrap(schema);
  if (def.type === "union") {
    for (const option of def.options as z.core.$ZodType[]) keysOf(option, prefix, out);
  } else if (def.type === "array") {
    out.push(prefix);
    keysOf(def.element as z.core.$ZodType, `${prefix}[]`, out);
  } else if (def.type === "object") {
    for (const [name, inner] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
      keysOf(inner, prefix === "" ? name : `${prefix}.${name}`, out);
    }
  } else if (!prefix.endsWith("[]")) {
    out.push(prefix);
  }
  return out;
}

/** key -> default cell, from the `| \`key\` | type | default | meaning |` rows. */
async function documentedRows(): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  for (const line of (await readFile(DOC, "utf8")).split("\n")) {
    const cells = line.match(/^\| `([^`]+)` \|(.*)$/);
    if (cells === null) continue;
    const rest = cells[2]?.split(/(?<!\\)\|/) ?? [];
    rows.set(cells[1] as string, (rest[1] ?? "").trim());
  }
  return rows;
}

function defaultOf(key: string): unknown {
  let value: unknown = configSchema.parse({});
  for (const part of key.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

test("the README has a row for every configuration option of the schema", async (t) => {
  const rows = await documentedRows();
  const keys = [...new Set(keysOf(configSchema))];
  t.deepEqual(
    keys.filter((key) => !rows.has(key)),
    [],
  );
  t.true(keys.length > 60, `${keys.length} options`);
});

test("every documented scalar default is the schema's default", async (t) => {
  const rows = await documentedRows();
  let compared = 0;
  for (const [key, cell] of rows) {
    if (key.includes("[]") || key.startsWith("PORTCULLIS_") || key.startsWith("-")) continue;
    const value = defaultOf(key);
    if (value === undefined || (typeof value === "object" && !Array.isArray(value))) continue;
    if (Array.isArray(value) && value.some((item) => typeof item === "object")) continue;
    const expected = Array.isArray(value) ? JSON.stringify(value) : String(value);
    const shown = cell.match(/^`([^`]*)`/)?.[1];
    if (Array.isArray(value) && value.length > 0 && shown === undefined) {
      for (const item of value) t.true(cell.includes(`\`${String(item)}\``), `${key}: ${cell}`);
    } else {
      t.is(shown, expected, key);
    }
    compared++;
  }
  t.true(compared > 30, `${compared} defaults compared`);
});

test("every environment variable is documented", async (t) => {
  const text = await readFile(DOC, "utf8");
  for (const name of Object.keys(ENV_VARS)) t.true(text.includes(`| \`${name}\` |`), name);
});
