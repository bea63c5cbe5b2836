import { hostname } from 'node:os';
import type { Logger } from '@relaybus/core';
import { type RedisClient, runScript } from '@relaybus/redis';
import type { ListKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';

/** Settings of a heartbeat. */
export interface HeartbeatSettings {
  readonly consumer: string;
  readonly keys: ListKeys;
  readonly heartbeatMs: number;
  readonly heartbeatTtlMs: number;
  readonly forgetAfterMs: number;
}

const WHO = `${hostname()} pid ${process.pid}`;

/**
 * A consumer's heartbeat: a key with a time to live, refreshed every `heartbeatMs` on a timer that
 * runs whatever the handlers are doing (a long async handler never lets it expire; one that blocks
 * the event loop for longer than the TTL does). Refreshing also keeps the consumer in the registry
 * the reaper walks.
 */
export class Heartbeat {
  readonly #settings: HeartbeatSettings;
  readonly #client: () => RedisClient;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #lastOkAt = Number.NEGATIVE_INFINITY;
  #beating: Promise<void> | undefined;
  #registered = false;

  constructor(settings: HeartbeatSettings, client: () => RedisClient, logger: Logger) {
    this.#settings = settings;
    this.#client = client;
    this.#logger = logger;
  }

  /** Registers (or refreshes) now; resolves once Redis recorded it. */
  beat(): Promise<void> {
    this.#beating ??= this.#beat().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  /** Refreshes on a timer from now on. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.beat().catch((error: unknown) =>
        this.#logger.warn({ err: error }, 'heartbeat refresh failed; retrying on the next beat'),
      );
    }, this.#settings.heartbeatMs);
  }

  /**
   * Stops refreshing (the key then expires after its TTL unless deleted); resolves once a refresh
   * already on its way is done, so nothing re-registers the consumer after it left.
   */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating?.catch(() => undefined);
  }

  /**
   * Resolves once the heartbeat is known to be alive: at once after a recent refresh, else after
   * refreshing it. The fetch loop calls it before each fetch, so a consumer that was stalled (its
   * timer late) re-registers before it moves anything into its processing list.
   */
  async ensureFresh(): Promise<void> {
    if (performance.now() - this.#lastOkAt <= this.#settings.heartbeatMs * 1.5) return;
    await this.beat();
  }

  async #beat(): Promise<void> {
    const { keys, consumer, heartbeatTtlMs, forgetAfterMs } = this.#settings;
    const startedAt = performance.now();
    const alive = await runScript(
      this.#client(),
      SCRIPTS.heartbeat,
      [keys.heartbeat(consumer), keys.consumers],
      [consumer, heartbeatTtlMs, forgetAfterMs, WHO],
    );
    this.#lastOkAt = startedAt;
    if (alive === 0 && this.#registered) {
      this.#logger.warn(
        { consumer, heartbeatTtlMs },
        'the heartbeat had expired (event loop blocked or Redis unreachable for longer than heartbeatTtlMs); ' +
          'unsettled deliveries may have been returned to the queue and be delivered again',
      );
    }
    this.#registered = true;
  }
}
