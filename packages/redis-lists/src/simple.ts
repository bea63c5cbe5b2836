import {
  AsyncQueue,
  GuardedDelivery,
  type Logger,
  newMessageId,
  type RawDelivery,
  type Settlement,
  type Subscription,
} from '@relaybus/core';
import { type RedisClient, runScript } from '@relaybus/redis';
import { BlockingClient } from './blocking.js';
import { deadLetterEntry, rawId } from './dead-letters.js';
import { bytesOf, decodeEntry, type Entry } from './entry.js';
import { SCRIPTS } from './scripts.js';
import type { SubscriptionContext, SubscriptionSettings } from './subscription.js';

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 5_000;

/**
 * A simple-mode consumer of one queue: RPOP (up to the free prefetch) or, when the queue is empty,
 * BRPOP. A message leaves Redis when it is fetched: at-most-once, no acknowledgement. `ack()` and
 * `nack({ requeue: true })` resolve and do nothing (a requeue is logged: the message is dropped);
 * `nack({ requeue: false, reason })` writes the message to the dead-letter list. Deliveries
 * fetched but not yet pulled by the application go back to the queue on `close()`.
 */
export class SimpleSubscription implements Subscription {
  readonly subject: string;
  readonly group: string;
  readonly consumer: string;
  readonly #settings: SubscriptionSettings;
  readonly #context: SubscriptionContext;
  readonly #logger: Logger;
  readonly #queue = new AsyncQueue<RawDelivery>();
  /** The value each buffered delivery was popped as (returned to the queue if never pulled). */
  readonly #values = new WeakMap<RawDelivery, Buffer>();
  /** Values popped after close began, to return to the queue. */
  readonly #orphans: Buffer[] = [];
  #fetcher: BlockingClient | undefined;
  #loop: Promise<void> | undefined;
  #sleepWaiter: (() => void) | undefined;
  #requeueWarned = false;
  #promoting = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(settings: SubscriptionSettings, context: SubscriptionContext) {
    this.#settings = settings;
    this.#context = context;
    this.subject = settings.subject;
    this.group = settings.group;
    this.consumer = settings.consumer;
    this.#logger = context.logger.child({ subject: settings.subject, consumer: settings.consumer });
  }

  get closed(): boolean {
    return this.#closed;
  }

  [Symbol.asyncIterator](): AsyncIterator<RawDelivery> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Takes a buffered delivery without waiting, or `undefined` when none is buffered. */
  poll(): RawDelivery | undefined {
    return this.#queue.poll();
  }

  /** Starts fetching and promoting delayed messages; resolves once Redis answered. */
  async start(): Promise<void> {
    await this.#context.client().ping();
    if (this.#closed) return;
    this.#context.promoter.acquire();
    this.#promoting = true;
    this.#fetcher = new BlockingClient(this.#context.connector, () => undefined, this.#logger);
    this.#loop = this.#run(this.#fetcher.client);
  }

  /**
   * Stops fetching (a blocked BRPOP is interrupted, see `BlockingClient`), ends the
   * iteration, and pushes deliveries never pulled by the application back onto the consumption
   * end of the queue, in order. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    if (this.#promoting) this.#context.promoter.release();
    this.#promoting = false;
    const unseen = this.#queue.close();
    this.#sleepWaiter?.();
    try {
      await this.#fetcher?.interrupt(this.#loop, this.#context.connector.client('main'));
    } catch (error) {
      this.#logger.debug({ err: error }, 'could not interrupt the fetch loop');
    }
    const back: Buffer[] = [...this.#orphans].reverse();
    for (let i = unseen.length - 1; i >= 0; i--) {
      const value = this.#values.get(unseen[i] as RawDelivery);
      if (value !== undefined) back.push(value);
    }
    if (back.length > 0) {
      try {
        // Newest first onto the right end: the oldest ends up next in line.
        await this.#context.connector.client('main').rpush(this.#settings.keys.queue, ...back);
      } catch (error) {
        this.#logger.error(
          { err: error, lost: back.length },
          'could not return unpulled messages to the queue on close; they are lost (simple mode)',
        );
      }
    }
    this.#context.onClose(this);
  }

  async #run(client: RedisClient): Promise<void> {
    const { keys, prefetch } = this.#settings;
    const { blockMs } = this.#context.options;
    let failures = 0;
    while (!this.#closed) {
      await this.#queue.waitForSpace(prefetch);
      if (this.#closed) break;
      const room = prefetch - this.#queue.size;
      try {
        let values = await client.rpopBuffer(keys.queue, room);
        if (values === null) {
          const popped = await client.brpopBuffer(keys.queue, blockMs / 1000);
          if (popped === null) continue;
          // Hand it over before asking for more: a close now must not lose it.
          this.#accept([popped[1]]);
          values = room > 1 && !this.#closed ? ((await client.rpopBuffer(keys.queue, room - 1)) ?? []) : [];
        }
        failures = 0;
        this.#accept(values);
      } catch (error) {
        if (this.#closed) break;
        failures++;
        this.#logger[failures === 1 ? 'warn' : 'debug'](
          { err: error, failures },
          'fetching failed; retrying',
        );
        await this.#sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 7)));
      }
    }
  }

  #accept(values: Buffer[]): void {
    const { maxDeliveries } = this.#settings;
    for (const value of values) {
      if (this.#closed) {
        this.#orphans.push(value);
        continue;
      }
      const decoded = decodeEntry(value);
      if (decoded.kind === 'malformed') {
        const entry: Entry = { id: rawId(value), headers: {}, payload: bytesOf(value), deliveriesBefore: 0 };
        void this.#deadLetter(entry, `malformed-entry: ${decoded.problem}`, 0).catch(() => undefined);
        continue;
      }
      const entry: Entry =
        decoded.kind === 'entry'
          ? decoded.entry
          : { id: newMessageId(), headers: {}, payload: bytesOf(value), deliveriesBefore: 0 };
      if (maxDeliveries > 0 && entry.deliveriesBefore >= maxDeliveries) {
        void this.#deadLetter(entry, 'max-deliveries', entry.deliveriesBefore).catch(() => undefined);
        continue;
      }
      const delivery: GuardedDelivery = new GuardedDelivery(
        {
          id: entry.id,
          subject: this.subject,
          payload: entry.payload,
          headers: entry.headers,
          deliveryCount: entry.deliveriesBefore + 1,
        },
        (settlement): Promise<void> => this.#settle(entry, delivery, settlement),
      );
      this.#values.set(delivery, value);
      this.#queue.push(delivery);
    }
  }

  async #settle(entry: Entry, delivery: RawDelivery, settlement: Settlement): Promise<void> {
    switch (settlement.kind) {
      case 'ack':
        return;
      case 'requeue':
        if (!this.#requeueWarned) {
          this.#requeueWarned = true;
          this.#logger.warn(
            { id: entry.id },
            'simple mode cannot requeue: the message left the queue when it was fetched and is dropped ' +
              '(use mode "reliable" for requeue and redelivery)',
          );
        } else {
          this.#logger.debug({ id: entry.id }, 'simple mode: requeue dropped the message');
        }
        return;
      case 'dead-letter':
        await this.#deadLetter(entry, settlement.reason, delivery.deliveryCount, true);
        return;
    }
  }

  /** Writes a dead letter (the message is in no list any more). */
  async #deadLetter(entry: Entry, reason: string, deliveryCount: number, rethrow = false): Promise<void> {
    const { keys } = this.#settings;
    try {
      await runScript(
        this.#context.client(),
        SCRIPTS.deadLetter,
        [keys.queue, keys.deadLetters],
        [
          '',
          deadLetterEntry(entry, this.subject, reason, deliveryCount),
          this.#context.options.deadLetterMaxLen,
          'unheld',
        ],
      );
      this.#logger.debug({ id: entry.id, reason, deliveryCount }, 'dead-lettered a message');
    } catch (error) {
      if (rethrow) throw error;
      this.#logger.error(
        { err: error, id: entry.id, reason },
        'could not dead-letter a message; it is lost (simple mode)',
      );
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#sleepWaiter = undefined;
        resolve();
      }
      this.#sleepWaiter = done;
    });
  }
}
