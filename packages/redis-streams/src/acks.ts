import type { Logger } from '@relaybus/core';
import type { RedisClient } from '@relaybus/redis';

interface Batch {
  readonly stream: string;
  readonly group: string;
  ids: string[];
  /** One promise for every ack of the batch: settled when its XACK is answered. */
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Coalesces acks into batched XACKs: one `XACK stream group id…` per stream and group, sent when
 * `maxSize` acks wait or after `maxDelayMs` (0: on the next turn of the event loop), and while an
 * XACK is being answered, once it is (so a busy consumer sends few, large XACKs). Every `ack`
 * promise resolves once the XACK carrying it was answered, or rejects with its error.
 */
export class AckBatcher {
  readonly #batches = new Map<string, Batch>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #pending = 0;

  constructor(
    readonly client: () => RedisClient,
    readonly maxSize: number,
    readonly maxDelayMs: number,
    readonly logger: Logger,
  ) {}

  /** Resolves once XACK of `id` was answered (acks of one batch share one promise). */
  ack(stream: string, group: string, id: string): Promise<void> {
    const name = `${group}\u0000${stream}`;
    let batch = this.#batches.get(name);
    if (batch === undefined) {
      let resolve: () => void = () => {};
      let reject: (error: unknown) => void = () => {};
      const done = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      batch = { stream, group, ids: [], done, resolve, reject };
      this.#batches.set(name, batch);
    }
    batch.ids.push(id);
    this.#pending++;
    const { done } = batch;
    if (this.#pending >= this.maxSize) this.#flushNow();
    else this.#schedule();
    return done;
  }

  /** Sends whatever waits and resolves once every XACK sent so far was answered. */
  async flush(): Promise<void> {
    this.#flushNow();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #schedule(): void {
    // While an XACK is on its way, acks gather until it is answered (or `maxSize` of them wait):
    // under load batches grow by themselves, and an idle consumer still acks on the next turn.
    if (this.#timer !== undefined || this.#inFlight.size > 0) return;
    this.#timer =
      this.maxDelayMs === 0
        ? setImmediate(() => this.#flushNow())
        : setTimeout(() => this.#flushNow(), this.maxDelayMs);
  }

  #flushNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    if (this.#pending === 0) return;
    const batches = [...this.#batches.values()];
    this.#batches.clear();
    this.#pending = 0;
    let client: RedisClient;
    try {
      client = this.client();
    } catch (error) {
      for (const batch of batches) batch.reject(error);
      return;
    }
    for (const batch of batches) {
      const sent = client.xack(batch.stream, batch.group, ...batch.ids).then(
        () => batch.resolve(),
        (error: unknown) => {
          this.logger.warn({ err: error, stream: batch.stream, count: batch.ids.length }, 'XACK failed');
          batch.reject(error);
        },
      );
      this.#inFlight.add(sent);
      void sent.finally(() => {
        this.#inFlight.delete(sent);
        if (this.#inFlight.size === 0 && this.#pending > 0) this.#schedule();
      });
    }
  }
}
