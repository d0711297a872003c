/** Something waiting on Redis, given up on when its deadline passes first. */
export interface Tracked {
  /** The sweep count at which it is given up. */
  readonly dueSweep: number;
  readonly expire: (error: Error) => void;
}

/**
 * Gives up on waits that last longer than `ms`: each is given up between 1 and 1.25 times `ms` after it began
 * (later only when the event loop itself is late; for `ms` under 4, after 5 ms, timers counting whole
 * milliseconds). One sweep every quarter of `ms` while anything is pending, counting sweeps instead of reading a
 * clock: tracking a wait is a Set insert, where a timer per wait, or a clock read per wait, cost more than the rest
 * of a limited request's bookkeeping (counted in instructions, bench --instructions).
 */
export class Deadlines {
  readonly #ms: number;
  readonly #pending = new Set<Tracked>();
  #sweeps = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /**
   * Calls `expire` once the deadline passes, unless `settle` came first. A wait begun after sweep k is given up at
   * sweep k + 5: four whole quarters after sweep k + 1, which comes after it began, and at most five after it began.
   */
  track(expire: (error: Error) => void): Tracked {
    const tracked: Tracked = { dueSweep: this.#sweeps + 5, expire };
    this.#pending.add(tracked);
    if (this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.max(1, this.#ms / 4));
      this.#sweeper.unref(); // a pending wait must not keep a stopping process alive
    }
    return tracked;
  }

  /** Ends a wait; false when it had already been given up (its answer comes too late to count). */
  settle(tracked: Tracked): boolean {
    return this.#pending.delete(tracked);
  }

  /** The promise's outcome, or a rejection once the deadline passes first (a late outcome is dropped). */
  watch<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const tracked = this.track(reject);
      promise.then(
        (value) => {
          if (this.settle(tracked)) resolve(value);
        },
        (error: unknown) => {
          if (this.settle(tracked)) reject(error);
        },
      );
    });
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #sweep(): void {
    if (this.#pending.size === 0) {
      this.close(); // restarted by the next wait
      return;
    }
    const sweep = ++this.#sweeps;
    for (const tracked of this.#pending) {
      if (tracked.dueSweep > sweep) continue;
      this.#pending.delete(tracked);
      tracked.expire(new Error(`Redis gave no answer within ${this.#ms} ms`));
    }
  }
}
