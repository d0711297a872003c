import type { Deadlines } from "./deadlines.js";
import { conforms, describe } from "./gcra.js";
import { decide, type LimitDecision, type LimitEntry, type RuleResult } from "./limiter.js";

/**
 * Runs TAKE_LUA once on `keys` keys: `keysThenArgs` holds the keys, then ARGV (layout in scripts.ts). Rejects, never
 * throws (LuaScript.run).
 */
export type TakeScript = (keys: number, keysThenArgs: string[]) => Promise<unknown>;

interface Waiting {
  readonly entries: readonly LimitEntry[];
  resolve(decision: LimitDecision): void;
  reject(error: unknown): void;
}

/**
 * Gathers takes into script calls: requests that arrive together (many connections' data read in one poll) cost
 * Redis one command and the gateway one write and one read, instead of one each. Every request still waits for
 * exactly one round trip, and is decided atomically on its own (TAKE_LUA decides the requests of a batch one after
 * the other). Every take waits for the end of the event-loop turn (setImmediate), even one that would go alone:
 * sending a lone take at once saved the gateway a few thousand instructions per request at one connection, but at
 * 10 and 50 connections it doubled the script calls of a turn (the first take alone, the rest together), and each
 * round trip costs both processes far more in the kernel (write, wake-up, read) than the setImmediate does in
 * user space: 3-34 % more CPU per request in side-by-side runs (README, Performance).
 */
export class TakeBatcher {
  readonly #run: TakeScript;
  readonly #deadlines: Deadlines | undefined;
  readonly #maxRequests: number;
  #waiting: Waiting[] = [];
  #scheduled = false;

  /**
   * `deadlines`: when given, a script call that Redis leaves unanswered past them fails its takes. `maxRequests`
   * bounds one script's run (Redis serves nothing else meanwhile); more go in further calls.
   */
  constructor(run: TakeScript, deadlines?: Deadlines, maxRequests = 128) {
    this.#run = run;
    this.#deadlines = deadlines;
    this.#maxRequests = maxRequests;
  }

  /** Decides one request's entries (at least one). */
  take(entries: readonly LimitEntry[]): Promise<LimitDecision> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ entries, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // setImmediate runs after the poll phase: every request read in this turn is in the batch by then
      setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let at = 0; at < waiting.length; at += this.#maxRequests) {
      this.#send(waiting.slice(at, at + this.#maxRequests));
    }
  }

  #send(batch: readonly Waiting[]): void {
    const { keyCount, keysThenArgs } = takeArguments(batch);
    const rejectAll = (error: unknown) => {
      for (const request of batch) request.reject(error);
    };
    const tracked = this.#deadlines?.track(rejectAll);
    // settles the batch once: its answer, its failure or its deadline, whichever comes first
    const done = (): boolean => tracked === undefined || this.#deadlines?.settle(tracked) === true;
    this.#run(keyCount, keysThenArgs).then(
      (reply) => {
        if (!done()) return;
        const parsed = parseTakeReply(reply, batch.length, keyCount);
        if (typeof parsed === "string") return rejectAll(new Error(`the rate-limit script answered ${parsed}`));
        try {
          settle(batch, parsed);
        } catch (error) {
          rejectAll(error); // the requests settled already keep their decision
        }
      },
      (error: unknown) => {
        if (done()) rejectAll(error);
      },
    );
  }
}

/** TAKE_LUA's KEYS then ARGV for these requests (layout in scripts.ts), built without intermediate lists. */
export function takeArguments(requests: readonly { readonly entries: readonly LimitEntry[] }[]): {
  keyCount: number;
  keysThenArgs: string[];
} {
  const keysThenArgs: string[] = [];
  let counts = "";
  let rates = "";
  for (const { entries } of requests) {
    counts = counts === "" ? `${entries.length}` : `${counts},${entries.length}`;
    for (const { key, rule } of entries) {
      keysThenArgs.push(key);
      rates = rates === "" ? rule.scriptRates : `${rates},${rule.scriptRates}`;
    }
  }
  const keyCount = keysThenArgs.length;
  keysThenArgs.push(counts, rates);
  return { keyCount, keysThenArgs };
}

/** TAKE_LUA's reply, read. */
export interface TakeReply {
  readonly now: number;
  /** One per request, in order. */
  readonly admitted: readonly boolean[];
  /** One per key, in order: the TAT the script left. */
  readonly tats: readonly number[];
}

/**
 * Reads TAKE_LUA's reply ("now admitted d_1 ... d_n", see scripts.ts) for `requests` requests over `keys` keys, or
 * says what was wrong with it: a reply of another shape would read as made-up numbers (a missing TAT as "rested":
 * admitted). One pass over the characters, in this one function: a regular expression, a split and a Number() per
 * field cost three times as much, and so did the same loop split into helpers (V8 compiled the helpers' string
 * reads as generic property lookups, one per character).
 */
export function parseTakeReply(reply: unknown, requests: number, keys: number): TakeReply | string {
  if (typeof reply !== "string") return `a ${typeof reply}, not a string`;
  const length = reply.length;
  const admitted: boolean[] = new Array(requests);
  const tats: number[] = new Array(keys);
  let now = 0;
  let field = 0; // 0: now, 1: the admissions, 2 + i: d_i
  let value = 0; // the number read so far in this field
  let start = 0; // where this field began
  for (let at = 0; at <= length; at++) {
    const code = at === length ? SPACE : reply.charCodeAt(at);
    if (code !== SPACE) {
      if (field === 1) {
        if (code !== ZERO && code !== ONE) return "an admission that is neither 0 nor 1";
        if (at - start < requests) admitted[at - start] = code === ONE;
      } else {
        const digit = code - ZERO;
        if (digit < 0 || digit > 9) return "something that is not decimal integers and admissions";
        value = value * 10 + digit; // exact below 2^53; past it the checks below refuse the (rounded) result
      }
      continue;
    }
    // a field ends: it may not be empty, and there may not be more fields than the keys call for
    if (at === start || field >= 2 + keys) return shape(reply, 2 + keys, requests);
    if (field === 0) now = value;
    else if (field === 1 && at - start !== requests) return shape(reply, 2 + keys, requests);
    else if (field >= 2) tats[field - 2] = now + value;
    field++;
    value = 0;
    start = at + 1;
  }
  if (field !== 2 + keys) return shape(reply, 2 + keys, requests);
  for (let i = 0; i < keys; i++) if ((tats[i] as number) > Number.MAX_SAFE_INTEGER) return "integers too large";
  if (now > Number.MAX_SAFE_INTEGER) return "integers too large";
  return { now, admitted, tats };
}

const ZERO = 48;
const ONE = 49;
const SPACE = 32;

/** What is wrong with a reply of the wrong number of fields. */
function shape(reply: string, fields: number, requests: number): string {
  let count = reply === "" ? 0 : 1;
  for (let i = 0; i < reply.length; i++) if (reply.charCodeAt(i) === SPACE) count++;
  return `${count} fields, not ${fields} for ${requests} requests`;
}

/** Hands each request of a batch its decision. */
function settle(batch: readonly Waiting[], reply: TakeReply): void {
  let at = 0;
  for (let r = 0; r < batch.length; r++) {
    const request = batch[r] as Waiting;
    const admitted = reply.admitted[r] === true;
    const results: RuleResult[] = new Array(request.entries.length);
    for (let i = 0; i < request.entries.length; i++) {
      results[i] = ruleResult(request.entries[i] as LimitEntry, reply.tats[at++] ?? reply.now, reply.now, admitted);
    }
    request.resolve(decide(results, "redis"));
  }
}

/**
 * What one rule says about a request, from the TAT TAKE_LUA left. In an admitted request the TAT already includes
 * it, so the rule admitted it; in a denied one nothing was counted and the rule admits iff it conforms on its own.
 */
export function ruleResult(entry: LimitEntry, tat: number, now: number, requestAdmitted: boolean): RuleResult {
  const { rule } = entry;
  const state = describe(tat, now, rule);
  const allowed = requestAdmitted || conforms(tat, now, rule);
  return {
    rule,
    key: entry.key,
    allowed,
    remaining: state.remaining,
    refillMs: state.refillMs,
    resetMs: state.resetMs,
  };
}
