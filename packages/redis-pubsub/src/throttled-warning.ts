import type { Logger } from '@relaybus/core';

/**
 * A warning that repeats at most once per interval: the first occurrence is logged at `warn`, the
 * ones within the next `intervalMs` are counted and folded into the next warning (`count`), so a
 * flood of drops costs one log line per interval. Uses no timer: a tally still open when the
 * events stop is reported by `flush()`.
 */
export class ThrottledWarning {
  readonly #logger: Logger;
  readonly #message: string;
  readonly #intervalMs: number;
  #lastAt = Number.NEGATIVE_INFINITY;
  #pending = 0;

  constructor(logger: Logger, message: string, intervalMs: number) {
    this.#logger = logger;
    this.#message = message;
    this.#intervalMs = intervalMs;
  }

  /** Records one occurrence; logs when the interval since the last warning has passed. */
  note(fields?: Record<string, unknown>): void {
    this.#pending++;
    const now = Date.now();
    if (now - this.#lastAt < this.#intervalMs) return;
    this.#lastAt = now;
    const count = this.#pending;
    this.#pending = 0;
    this.#logger.warn({ ...fields, count }, this.#message);
  }

  /** Logs the occurrences not reported yet, if any. */
  flush(fields?: Record<string, unknown>): void {
    if (this.#pending === 0) return;
    const count = this.#pending;
    this.#pending = 0;
    this.#logger.warn({ ...fields, count }, this.#message);
  }
}
