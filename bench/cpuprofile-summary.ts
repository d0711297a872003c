import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

// Summarizes a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function, grouped by where the code
// lives (ours under src/, a dependency, node's internals, V8/native), so the profile's top entries can be read
// without DevTools. Run it on any profile:  node dist/bench/cpuprofile-summary.js FILE [--top 25] [--skip-ms N]

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Origin = "ours" | "dependency" | "node" | "v8/native" | "idle" | "bench";

export interface FunctionCost {
  readonly name: string;
  /** Where it is: a path relative to the project root, `pkg (file)` for a dependency, the node: URL, or "". */
  readonly location: string;
  readonly origin: Origin;
  /** The package, for a dependency. */
  readonly pkg?: string;
  /** For node's and V8's functions: the nearest caller in our code or a dependency's (one entry per caller). */
  readonly caller?: string;
  readonly selfMs: number;
  /** Share of the non-idle time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly skippedMs: number;
  readonly functions: readonly FunctionCost[];
  readonly byOrigin: ReadonlyArray<{ origin: Origin; selfMs: number; share: number }>;
  readonly byPackage: ReadonlyArray<{ pkg: string; selfMs: number; share: number }>;
  /**
   * Each sample charged to the nearest frame that is ours (by file) or a dependency's (by package), node's and V8's
   * work included: what our code and each package set in motion. "node" is what ran with neither on the stack
   * (the HTTP and TLS machinery answering sockets).
   */
  readonly byOwner: ReadonlyArray<{ owner: string; ms: number; share: number }>;
}

export interface SummaryOptions {
  /** The project root, to tell our files from the rest. */
  readonly root: string;
  /** Ignore the first N ms of samples (e.g. start-up and warm-up). */
  readonly skipMs?: number;
}

const SPECIAL_IDLE = new Set(["(idle)", "(program)"]);

function classify(frame: CallFrame, root: string): Pick<FunctionCost, "location" | "origin" | "pkg"> {
  const { url } = frame;
  if (url === "") return { location: "", origin: SPECIAL_IDLE.has(frame.functionName) ? "idle" : "v8/native" };
  if (url.startsWith("node:")) return { location: url, origin: "node" };
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf("/node_modules/");
  if (modules !== -1) {
    const rest = path.slice(modules + "/node_modules/".length).split("/");
    const pkg = rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? "?");
    return { location: `${pkg} (${rest.slice(pkg.split("/").length).join("/")})`, origin: "dependency", pkg };
  }
  const local = relative(root, path);
  if (local.startsWith("dist/src/") || local.startsWith("src/")) {
    return { location: `${local.replace(/^dist\//, "").replace(/\.js$/, ".ts")} (js)`, origin: "ours" };
  }
  if (local.startsWith("dist/bench/") || local.startsWith("bench/")) return { location: local, origin: "bench" };
  return { location: path, origin: "node" };
}

/** Self time per function (name + location), from the samples' time deltas. */
export function summarizeProfile(profile: CpuProfile, options: SummaryOptions): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  /** The nearest ancestor frame that is ours or a dependency's, as "function (where:line)". */
  const callerOutsideNode = (id: number): string | undefined => {
    for (let node = parentOf.get(id); node !== undefined; node = parentOf.get(node.id)) {
      const where = classify(node.callFrame, options.root);
      if (where.origin === "ours" || where.origin === "dependency" || where.origin === "bench") {
        return `${node.callFrame.functionName || "(anonymous)"} (${where.location}:${node.callFrame.lineNumber + 1})`;
      }
    }
    return undefined;
  };
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  let skippedUs = 0;
  const skipUs = (options.skipMs ?? 0) * 1000;
  // timeDeltas[i] is the time from the previous sample to sample i: the time sample i stands for
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs < skipUs) {
      skippedUs += delta;
      continue;
    }
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }

  const ownerCache = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached !== undefined) return cached;
    let owner = "node";
    for (let node = byId.get(id); node !== undefined; node = parentOf.get(node.id)) {
      const where = classify(node.callFrame, options.root);
      if (where.origin === "idle") {
        owner = "idle";
        break;
      }
      if (where.origin === "dependency") {
        owner = where.pkg ?? "?";
        break;
      }
      if (where.origin === "ours" || where.origin === "bench") {
        owner = where.location.replace(/ \(js\)$/, "");
        break;
      }
    }
    ownerCache.set(id, owner);
    return owner;
  };
  const owners = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const owner = ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  }

  const merged = new Map<string, { name: string; selfUs: number; caller?: string } & ReturnType<typeof classify>>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const where = classify(node.callFrame, options.root);
    const name = node.callFrame.functionName || "(anonymous)";
    const location = node.callFrame.url === "" ? "" : `${where.location}:${node.callFrame.lineNumber + 1}`;
    // node's and V8's functions (a write, a hash, an AbortSignal) say little alone: whose code called them?
    const caller = where.origin === "node" || where.origin === "v8/native" ? callerOutsideNode(id) : undefined;
    const key = `${name}\u0000${node.callFrame.url}\u0000${location}\u0000${caller ?? ""}`;
    const entry = merged.get(key);
    if (entry === undefined) merged.set(key, { name, ...where, location, selfUs: us, ...(caller ? { caller } : {}) });
    else entry.selfUs += us;
  }
  let idleUs = 0;
  let busyUs = 0;
  for (const entry of merged.values()) {
    if (entry.origin === "idle") idleUs += entry.selfUs;
    else busyUs += entry.selfUs;
  }
  const share = (us: number) => (busyUs === 0 ? 0 : us / busyUs);
  const functions = [...merged.values()]
    .filter((entry) => entry.origin !== "idle")
    .sort((a, b) => b.selfUs - a.selfUs)
    .map((entry) => ({
      name: entry.name,
      location: entry.location,
      origin: entry.origin,
      ...(entry.pkg === undefined ? {} : { pkg: entry.pkg }),
      ...(entry.caller === undefined ? {} : { caller: entry.caller }),
      selfMs: entry.selfUs / 1000,
      share: share(entry.selfUs),
    }));
  const sum = <K extends string>(keyOf: (f: FunctionCost) => K | undefined) => {
    const totals = new Map<K, number>();
    for (const f of functions) {
      const key = keyOf(f);
      if (key !== undefined) totals.set(key, (totals.get(key) ?? 0) + f.selfMs);
    }
    return [...totals].sort((a, b) => b[1] - a[1]);
  };
  return {
    totalMs: (busyUs + idleUs) / 1000,
    idleMs: idleUs / 1000,
    skippedMs: skippedUs / 1000,
    functions,
    byOrigin: sum((f) => f.origin).map(([origin, selfMs]) => ({ origin, selfMs, share: share(selfMs * 1000) })),
    byPackage: sum((f) => f.pkg).map(([pkg, selfMs]) => ({ pkg, selfMs, share: share(selfMs * 1000) })),
    byOwner: [...owners]
      .filter(([owner]) => owner !== "idle")
      .sort((a, b) => b[1] - a[1])
      .map(([owner, us]) => ({ owner, ms: us / 1000, share: share(us) })),
  };
}

const pct = (share: number) => `${(share * 100).toFixed(1)} %`;

/** The summary as Markdown: totals by origin and package, the top N overall, and the top entries of ours. */
export function profileMarkdown(summary: ProfileSummary, top = 25): string {
  const row = (f: FunctionCost, i: number) =>
    `| ${i + 1} | ${f.selfMs.toFixed(1)} | ${pct(f.share)} | ${f.origin} | \`${f.name}\` | ${f.location || "–"} | ${f.caller ?? ""} |`;
  const head = [
    "| # | self ms | share | origin | function | where | called from (nearest frame outside node) |",
    "|---|---|---|---|---|---|---|",
  ];
  const ours = summary.functions.filter((f) => f.origin === "ours");
  return [
    `Busy ${(summary.totalMs - summary.idleMs).toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled ` +
      `(idle/program ${summary.idleMs.toFixed(0)} ms${summary.skippedMs > 0 ? `; first ${summary.skippedMs.toFixed(0)} ms skipped` : ""}); shares are of the busy time.`,
    "",
    `By origin: ${summary.byOrigin.map((o) => `${o.origin} ${pct(o.share)}`).join(", ")}.`,
    "",
    `By package: ${summary.byPackage
      .slice(0, 10)
      .map((p) => `${p.pkg} ${pct(p.share)}`)
      .join(", ")}.`,
    "",
    "Charged to the nearest frame of ours (by file) or of a dependency (by package), the node and V8 work they " +
      `called included: ${summary.byOwner
        .slice(0, 15)
        .map((o) => `${o.owner} ${pct(o.share)}`)
        .join(", ")}; ours in all ${pct(
        summary.byOwner.filter((o) => o.owner.startsWith("src/")).reduce((sum, o) => sum + o.share, 0),
      )}.`,
    "",
    `### Top ${top} by self time`,
    "",
    ...head,
    ...summary.functions.slice(0, top).map(row),
    "",
    `### Top entries of ours (src/), ${pct(ours.reduce((s, f) => s + f.share, 0))} in all`,
    "",
    ...head,
    ...ours.slice(0, 15).map(row),
    "",
  ].join("\n");
}

// CLI: node dist/bench/cpuprofile-summary.js FILE [--top N] [--skip-ms N]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, ...rest] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write("usage: node dist/bench/cpuprofile-summary.js FILE.cpuprofile [--top 25] [--skip-ms 0]\n");
    process.exit(2);
  }
  const flag = (name: string) => {
    const at = rest.indexOf(name);
    return at === -1 ? undefined : Number(rest[at + 1]);
  };
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const summary = summarizeProfile(profile, { root, skipMs: flag("--skip-ms") ?? 0 });
  process.stdout.write(profileMarkdown(summary, flag("--top") ?? 25));
}
