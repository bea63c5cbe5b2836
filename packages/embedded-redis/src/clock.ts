/**
 * The server's time source. One clock drives TTLs, stream ids, idle times and blocking timeouts,
 * so a test can replace it with a `ManualClock` and advance time instead of waiting.
 */
export interface Clock {
  /** Current time in milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `listener` whenever time jumps (manual clocks only); returns an unsubscribe function. */
  onAdvance?(listener: () => void): () => void;
}

/** The wall clock (`Date.now()`). */
export const realClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told to. `advance(ms)` moves it forward and makes the server run
 * its timers (key expiry, blocking timeouts) for the new time at once.
 */
export class ManualClock implements Clock {
  #now: number;
  readonly #listeners = new Set<() => void>();

  /** Starts at `start` ms (default: the current wall-clock time). */
  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` (>= 0) and notifies the servers using this clock. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.#now += ms;
    for (const listener of [...this.#listeners]) listener();
  }

  /** Sets the absolute time (must not go backwards). */
  set(ms: number): void {
    this.advance(ms - this.#now);
  }

  onAdvance(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
