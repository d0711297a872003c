import { compilePattern, matchesPattern, type PathPattern, pathSegments } from "../auth/path-pattern.js";
import { BUILTIN_HELP } from "./builtin-texts.js";

interface Entry {
  readonly pattern: PathPattern;
  readonly text: string;
  readonly order: number;
}

/**
 * Path pattern -> help text, with the pattern syntax of the allow-list (literal segments, `*` for one segment, a
 * final `**` for "and below", relative to /v1/). When several patterns match, the most specific wins: more
 * literal segments first, then a fixed length over "and below", then the entry added last, so configuration and
 * plugins can override a built-in text by adding the same pattern again.
 * @example
 * const registry = createHelpRegistry({ "transit/encrypt/*": "Encrypts with the named key. POST {plaintext}" });
 * registry.add("pki/issue/*", "Issues a certificate for the named role.");
 */
export class HelpRegistry {
  readonly #entries: Entry[] = [];

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [pattern, text] of entries) this.add(pattern, text);
  }

  /** Adds (or overrides) the text for a pattern; a bad pattern is a ConfigError. */
  add(pattern: string, text: string): this {
    this.#entries.push({
      pattern: compilePattern(pattern, `help.entries["${pattern}"]`),
      text,
      order: this.#entries.length,
    });
    return this;
  }

  /** The text for a validated request path ("/v1/secret/foo"), or undefined when none is registered. */
  lookup(path: string): string | undefined {
    const segments = pathSegments(path);
    if (segments === undefined) return undefined;
    let best: Entry | undefined;
    for (const entry of this.#entries) {
      if (matchesPattern(entry.pattern, segments) && (best === undefined || moreSpecific(entry, best))) best = entry;
    }
    return best?.text;
  }

  /** The registered patterns, in the order added. */
  get patterns(): string[] {
    return this.#entries.map((entry) => entry.pattern.source);
  }
}

function moreSpecific(a: Entry, b: Entry): boolean {
  if (a.pattern.literals !== b.pattern.literals) return a.pattern.literals > b.pattern.literals;
  if (a.pattern.andBelow !== b.pattern.andBelow) return !a.pattern.andBelow;
  return a.order > b.order;
}

/** A registry with the built-in texts for every path the development store serves, plus `extra` entries. */
export function createHelpRegistry(extra: Readonly<Record<string, string>> = {}): HelpRegistry {
  return new HelpRegistry([...Object.entries(BUILTIN_HELP), ...Object.entries(extra)]);
}
