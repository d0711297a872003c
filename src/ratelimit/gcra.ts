// GCRA, the generic cell rate algorithm (a leaky bucket written as one timestamp). Why it and not counters:
// - exact: a request is admitted iff it conforms, no approximation as in sliding-window estimates;
// - O(1) state: one number per key, the theoretical arrival time (TAT) of the next request, which Redis can expire
//   by itself once it lies in the past (an expired key and a rested one mean the same);
// - no double bursts: fixed windows admit `limit` at the end of one window and `limit` again at the start of the
//   next, 2x the limit within moments. GCRA never admits more than `burst` at once and refills one request every
//   T = period / limit, so any interval of length d admits at most burst + d / T requests.
//
// All times are integer microseconds (Redis TIME gives microseconds; below 2^53, doubles hold them exactly).
//   conforms:  max(TAT, now) + T - now <= burst * T       (the request fits in the bucket)
//   admitted:  TAT := max(TAT, now) + T                    (it takes one emission interval of room)

/** The two numbers GCRA needs from a rule. */
export interface GcraRule {
  readonly emissionUs: number;
  readonly capacityUs: number;
  readonly burst: number;
}

/** Whether one more request conforms, given the stored TAT already raised to at least now. */
export function conforms(tat: number, now: number, rule: GcraRule): boolean {
  return tat + rule.emissionUs - now <= rule.capacityUs;
}

export interface GcraState {
  remaining: number;
  refillMs: number;
  resetMs: number;
}

/** Remaining requests, time to the next one and time to a full bucket, from the TAT left after a decision. */
export function describe(tat: number, now: number, rule: GcraRule): GcraState {
  const slack = now + rule.capacityUs - tat;
  const remaining = Math.min(rule.burst, Math.max(0, Math.floor(slack / rule.emissionUs)));
  // remaining grows by one when slack reaches the next multiple of T
  const refillUs = remaining >= rule.burst ? 0 : (remaining + 1) * rule.emissionUs - slack;
  return { remaining, refillMs: toMs(refillUs), resetMs: toMs(tat - now) };
}

// Rounded up: a client told to wait 0.4 ms that retries after 0 ms would be denied again.
function toMs(us: number): number {
  return Math.max(0, Math.ceil(us / 1000));
}
