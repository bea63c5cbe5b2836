import type { Logger } from '@relaybus/core';
import { type RedisClient, runScript } from '@relaybus/redis';
import type { ListKeys } from './keys.js';
import { NONCE_LENGTH } from './publisher.js';
import { SCRIPTS } from './scripts.js';

/** Most members one promote call moves. */
const PROMOTE_BATCH = 500;

/**
 * Moves due messages of one queue's delayed set onto the queue (atomically, by Lua; any number of
 * promoters in any number of processes never move a message twice). It looks again when the next
 * known message is due, after a local delayed nack or publish, and at least every `pollMs` (for
 * messages delayed by other processes). Shared by the subscriptions of one subject in a transport.
 */
export class Promoter {
  readonly #keys: ListKeys;
  readonly #client: () => RedisClient;
  readonly #pollMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  #running = false;
  #again = false;
  #users = 0;

  constructor(keys: ListKeys, client: () => RedisClient, pollMs: number, logger: Logger) {
    this.#keys = keys;
    this.#client = client;
    this.#pollMs = pollMs;
    this.#logger = logger;
  }

  /** A subscription starts using it: promotes now and keeps doing so. */
  acquire(): void {
    this.#users++;
    if (this.#users === 1) this.schedule(0);
  }

  /** A subscription stops using it; the last one stops the timer. Returns true when unused. */
  release(): boolean {
    this.#users = Math.max(0, this.#users - 1);
    if (this.#users > 0) return false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
    return true;
  }

  /** Looks at the delayed set in `delayMs` (or earlier if already planned). */
  schedule(delayMs: number): void {
    if (this.#users === 0) return;
    const at = performance.now() + delayMs;
    if (this.#timer !== undefined && this.#dueAt <= at) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#dueAt = Number.POSITIVE_INFINITY;
        void this.#tick();
      },
      Math.max(0, delayMs),
    );
  }

  async #tick(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    let nextMs = this.#pollMs;
    try {
      do {
        this.#again = false;
        const [promoted, waitMs] = (await runScript(
          this.#client(),
          SCRIPTS.promote,
          [this.#keys.delayed, this.#keys.queue],
          [PROMOTE_BATCH, NONCE_LENGTH],
        )) as [number, number];
        nextMs = promoted >= PROMOTE_BATCH ? 0 : waitMs < 0 ? this.#pollMs : Math.min(this.#pollMs, waitMs);
      } while (this.#again && this.#users > 0);
    } catch (error) {
      if (this.#users > 0)
        this.#logger.warn({ err: error, queue: this.#keys.queue }, 'promoting delayed messages failed');
    } finally {
      this.#running = false;
    }
    this.schedule(nextMs);
  }
}
