// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: it throws on anything a
// Prometheus server would refuse, and checks what it can of the families' own rules (histogram buckets).

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["_sum", "_count", ""],
  counter: [""],
  gauge: [""],
  untyped: [""],
};

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const closed = new Set<string>();
  for (const [index, line] of text.split("\n").entries()) {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta === null) continue; // a plain comment
      const [, kind, name = "", rest = ""] = meta;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      if (current !== undefined && current.name !== name) closed.add(current.name);
      if (closed.has(name)) throw new Error(`${where}: family ${name} appears twice`);
      let family = families.get(name);
      if (family === undefined) {
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
      }
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples`);
        (family as { type: string }).type = rest;
      } else {
        (family as { help: string }).help = rest;
      }
      current = family;
      continue;
    }
    const sample = parseSample(line, where);
    const owner = current;
    const suffixes = owner === undefined ? [] : (SUFFIXES[owner.type] ?? [""]);
    if (owner === undefined || !suffixes.some((suffix) => sample.name === owner.name + suffix)) {
      throw new Error(`${where}: sample outside its family`);
    }
    owner.samples.push(sample);
  }
  for (const family of families.values()) if (family.type === "histogram") checkHistogram(family);
  return families;
}

function parseSample(line: string, where: string): Sample {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
  if (match === null) throw new Error(`${where}: not a sample`);
  const [, name = "", , body] = match;
  const value = parseValue(match[4] ?? "", where);
  const labels: Record<string, string> = {};
  let rest = body ?? "";
  while (rest !== "") {
    const label = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (label === null || !LABEL_NAME.test(label[1] ?? "")) throw new Error(`${where}: bad labels`);
    const labelName = label[1] as string;
    if (labelName in labels) throw new Error(`${where}: label ${labelName} twice`);
    labels[labelName] = (label[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(label[0].length);
  }
  return { name, labels, value };
}

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's strconv.ParseFloat: NaN and Inf in any case (prom-client writes "Nan")
  if (/^[+]?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${text}`);
  return Number(text);
}

/** Buckets cumulative and ending in +Inf, which equals _count, per label set. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...others } = sample.labels;
    const key = JSON.stringify(Object.entries(others).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith("_bucket")) {
      if (le === undefined) throw new Error(`${family.name}: bucket without le`);
      entry.buckets.push([parseValue(le, family.name), sample.value]);
    } else if (sample.name.endsWith("_count")) {
      entry.count = sample.value;
    }
  }
  for (const [key, { buckets, count }] of series) {
    for (let i = 1; i < buckets.length; i++) {
      const [le, value] = buckets[i] as [number, number];
      const [previousLe, previous] = buckets[i - 1] as [number, number];
      if (le <= previousLe || value < previous) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    const last = buckets[buckets.length - 1];
    if (last?.[0] !== Number.POSITIVE_INFINITY || last[1] !== count) {
      throw new Error(`${family.name}${key}: +Inf bucket missing or not equal to _count`);
    }
  }
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when there is none. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) return sample.value;
    }
  }
  return 0;
}
