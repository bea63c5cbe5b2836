import {
  AsyncQueue,
  GuardedDelivery,
  type Logger,
  newMessageId,
  type RawDelivery,
  type Settlement,
  SlotList,
  type Subscription,
  TransportError,
} from '@relaybus/core';
import { type RedisClient, runScript, runScriptBuffer } from '@relaybus/redis';
import { AckBatcher } from './acks.js';
import { BlockingClient } from './blocking.js';
import { deadLetterEntry, rawId } from './dead-letters.js';
import { bytesOf, decodeEntry, type Entry, encodeEntry } from './entry.js';
import { Heartbeat } from './heartbeat.js';
import { newNonce } from './publisher.js';
import { reapConsumer, reapQueue } from './reaper.js';
import { SCRIPTS } from './scripts.js';
import type { SubscriptionContext, SubscriptionSettings } from './subscription.js';

/** A delivery handed out and not settled: the exact bytes it has in the processing list. */
interface Held {
  readonly value: Buffer;
  readonly entry: Entry;
  readonly delivery: GuardedDelivery;
  /** Its place in the subscription's held list (-1: not held). */
  slot: number;
}

/** A fetched value on its way to becoming a delivery. */
interface Fetched {
  value: Buffer;
  entry: Entry;
  /** Why it is dead-lettered instead of delivered. */
  deadLetter?: { reason: string; deliveryCount: number };
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 5_000;
/** Most values one release call returns (keeps each script call short). */
const RELEASE_BATCH = 256;

/**
 * A reliable-mode consumer of one queue. It moves entries with BLMOVE / LMOVE (Lua, batched up to
 * the free prefetch) from the queue into its own processing list, where each stays until it is
 * settled; a heartbeat key with a TTL says it is alive, and any consumer of the queue returns the
 * processing list of one whose heartbeat expired.
 */
export class ReliableSubscription implements Subscription {
  readonly subject: string;
  readonly group: string;
  /** This consumer's name (its processing list and heartbeat are named after it). */
  readonly consumer: string;
  readonly #settings: SubscriptionSettings;
  readonly #context: SubscriptionContext;
  readonly #logger: Logger;
  readonly #queue = new AsyncQueue<RawDelivery>();
  readonly #held = new SlotList<Held>();
  readonly #heartbeat: Heartbeat;
  readonly #processing: string;
  readonly #acks: AckBatcher;
  #fetcher: BlockingClient | undefined;
  #registered = false;
  #loop: Promise<void> | undefined;
  #reapTimer: NodeJS.Timeout | undefined;
  #capacityWaiter: (() => void) | undefined;
  #sleepWaiter: (() => void) | undefined;
  #reconcileNeeded = false;
  #promoting = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #leaving: Promise<void> | undefined;

  constructor(settings: SubscriptionSettings, context: SubscriptionContext) {
    this.#settings = settings;
    this.#context = context;
    this.subject = settings.subject;
    this.group = settings.group;
    this.consumer = settings.consumer;
    this.#processing = settings.keys.processing(settings.consumer);
    this.#acks = new AckBatcher(this.#processing, context.client);
    this.#logger = context.logger.child({ subject: settings.subject, consumer: settings.consumer });
    const { options } = context;
    this.#heartbeat = new Heartbeat(
      {
        consumer: settings.consumer,
        keys: settings.keys,
        heartbeatMs: options.heartbeatMs,
        heartbeatTtlMs: options.heartbeatTtlMs,
        forgetAfterMs: options.forgetAfterMs,
      },
      context.client,
      this.#logger,
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Deliveries fetched and not yet settled (buffered or with the application). */
  get heldCount(): number {
    return this.#held.size;
  }

  [Symbol.asyncIterator](): AsyncIterator<RawDelivery> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Takes a buffered delivery without waiting, or `undefined` when none is buffered. */
  poll(): RawDelivery | undefined {
    return this.#queue.poll();
  }

  /**
   * Takes back what an earlier consumer of the same name left in its processing list, registers
   * this consumer (heartbeat + registry), and starts fetching, heartbeating, reaping and promoting.
   * Resolves once registered.
   */
  async start(): Promise<void> {
    const { keys } = this.#settings;
    const client = this.#context.client();
    const restored = await reapConsumer(client, keys, this.consumer, true);
    if (restored > 0) {
      this.#logger.info(
        { restored },
        'returned what an earlier consumer of this name left unsettled to the queue',
      );
    }
    await this.#heartbeat.beat();
    this.#registered = true;
    if (this.#closed) return;
    this.#heartbeat.start();
    this.#context.promoter.acquire();
    this.#promoting = true;
    const { reapIntervalMs } = this.#context.options;
    this.#reapTimer = setInterval(() => void this.#reap(), reapIntervalMs);
    void this.#reap();
    // A command in flight when the connection dropped is re-sent after the reconnect; if the first
    // one had moved an entry, that entry sits in the processing list unknown to us. Look once the
    // loop is between commands.
    const fetcher = new BlockingClient(
      this.#context.connector,
      () => {
        this.#reconcileNeeded = true;
      },
      this.#logger,
    );
    this.#fetcher = fetcher;
    this.#loop = this.#run(fetcher.client);
  }

  /**
   * Stops fetching (a blocked BLMOVE is interrupted, see `BlockingClient`) and ends the
   * iteration. Deliveries fetched but never pulled by the application go back to the queue at
   * once, delivery count unchanged. Deliveries the application holds stay in the processing list
   * and can still be settled; the heartbeat is refreshed one last time, so after `heartbeatTtlMs`
   * the reaper returns whatever is still unsettled. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#reapTimer);
    const heartbeatStopped = this.#heartbeat.stop();
    if (this.#promoting) this.#context.promoter.release();
    this.#promoting = false;
    const unseen = new Set(this.#queue.close());
    this.#capacityWaiter?.();
    this.#sleepWaiter?.();
    if (this.#fetcher !== undefined) {
      try {
        const client = this.#context.connector.client('main');
        await this.#fetcher.interrupt(this.#loop, client);
        await this.#reconcile(client, unseen);
      } catch (error) {
        this.#logger.warn(
          { err: error },
          'could not return unseen deliveries on close; the reaper returns them once the heartbeat expires',
        );
      }
    }
    for (const held of this.#held.values()) {
      if (unseen.has(held.delivery)) this.#held.delete(held);
    }
    await heartbeatStopped;
    if (this.#registered) await this.#leave();
    this.#context.onClose(this);
  }

  /** Leaves once nothing is held: deregisters, or refreshes the heartbeat one last time. */
  #leave(): Promise<void> {
    this.#leaving ??= (async () => {
      try {
        const { keys } = this.#settings;
        await runScript(
          this.#context.connector.client('main'),
          SCRIPTS.leave,
          [keys.heartbeat(this.consumer), this.#processing, keys.consumers],
          [this.consumer, this.#context.options.heartbeatTtlMs, 'closed'],
        );
      } catch (error) {
        this.#logger.debug({ err: error }, 'could not deregister; the reaper forgets this consumer later');
      }
    })().finally(() => {
      this.#leaving = undefined;
    });
    return this.#leaving;
  }

  // ---- fetching ------------------------------------------------------------------------------

  async #run(client: RedisClient): Promise<void> {
    const { keys, prefetch } = this.#settings;
    const { blockMs } = this.#context.options;
    let failures = 0;
    while (!this.#closed) {
      if (this.#held.size >= prefetch) {
        await this.#capacity();
        continue;
      }
      try {
        if (this.#reconcileNeeded) {
          this.#reconcileNeeded = false;
          await this.#reconcile(client, new Set());
        }
        await this.#heartbeat.ensureFresh();
        if (this.#closed) break;
        const room = prefetch - this.#held.size;
        let values = (await runScriptBuffer(
          client,
          SCRIPTS.take,
          [keys.queue, this.#processing],
          [room],
        )) as Buffer[];
        if (values.length === 0) {
          if (this.#closed) break;
          const one = await client.blmoveBuffer(
            keys.queue,
            this.#processing,
            'RIGHT',
            'LEFT',
            blockMs / 1000,
          );
          if (one === null) continue;
          values = [one];
          if (room > 1 && !this.#closed) {
            const more = (await runScriptBuffer(
              client,
              SCRIPTS.take,
              [keys.queue, this.#processing],
              [room - 1],
            )) as Buffer[];
            values.push(...more);
          }
        }
        failures = 0;
        await this.#accept(client, values);
      } catch (error) {
        if (this.#closed) break;
        // Whatever the failed command moved is in the processing list but not held: look again.
        this.#reconcileNeeded = true;
        failures++;
        this.#logger[failures === 1 ? 'warn' : 'debug'](
          { err: error, failures },
          'fetching failed; retrying',
        );
        await this.#sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 7)));
      }
    }
  }

  /** Turns fetched values into deliveries (adopting foreign values, dead-lettering poison ones). */
  async #accept(client: RedisClient, values: Buffer[]): Promise<void> {
    const { maxDeliveries } = this.#settings;
    const fetched: Fetched[] = [];
    const adoptions: Buffer[] = [];
    const adopted: Fetched[] = [];
    for (const value of values) {
      const decoded = decodeEntry(value);
      if (decoded.kind === 'entry') {
        const item: Fetched = { value, entry: decoded.entry };
        const before = decoded.entry.deliveriesBefore;
        if (maxDeliveries > 0 && before >= maxDeliveries) {
          item.deadLetter = { reason: 'max-deliveries', deliveryCount: before };
        }
        fetched.push(item);
      } else if (decoded.kind === 'raw') {
        // Pushed by another client: wrap it in an entry (in place in the processing list), so its
        // id and delivery count are tracked from now on.
        const entry: Entry = {
          id: newMessageId(),
          headers: {},
          payload: bytesOf(value),
          deliveriesBefore: 0,
        };
        const wrapped = encodeEntry(entry);
        adoptions.push(value, wrapped);
        const item: Fetched = { value: wrapped, entry };
        adopted.push(item);
        fetched.push(item);
      } else {
        fetched.push({
          value,
          entry: { id: rawId(value), headers: {}, payload: bytesOf(value), deliveriesBefore: 0 },
          deadLetter: { reason: `malformed-entry: ${decoded.problem}`, deliveryCount: 0 },
        });
      }
    }
    let skip = new Set<Fetched>();
    if (adoptions.length > 0) {
      const flags = (await runScript(client, SCRIPTS.adopt, [this.#processing], adoptions)) as number[];
      skip = new Set(adopted.filter((_, index) => flags[index] !== 1));
    }
    for (const item of fetched) {
      if (skip.has(item)) continue;
      if (item.deadLetter !== undefined) {
        await this.#deadLetter(
          client,
          item.value,
          item.entry,
          item.deadLetter.reason,
          item.deadLetter.deliveryCount,
        );
        continue;
      }
      this.#deliver(item.value, item.entry);
    }
  }

  #deliver(value: Buffer, entry: Entry): void {
    const delivery = new GuardedDelivery(
      {
        id: entry.id,
        subject: this.subject,
        payload: entry.payload,
        headers: entry.headers,
        deliveryCount: entry.deliveriesBefore + 1,
      },
      (settlement) => this.#settle(held, settlement),
    );
    const held: Held = { value, entry, delivery, slot: -1 };
    // Closed meanwhile: not held, so close() returns it to the queue with the other unseen ones.
    if (this.#closed) return;
    this.#held.add(held);
    this.#queue.push(delivery);
  }

  /** Resolves once fewer than `prefetch` deliveries are held, or on close. */
  #capacity(): Promise<void> {
    if (this.#closed || this.#held.size < this.#settings.prefetch) return Promise.resolve();
    return new Promise((resolve) => {
      this.#capacityWaiter = () => {
        this.#capacityWaiter = undefined;
        resolve();
      };
    });
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

  /**
   * Returns to the queue (count unchanged) every value in the processing list that is not held by
   * the application: `unseen` deliveries, and values moved by a command whose reply was lost. Runs
   * only while no fetch command is in flight. Resolves with the number returned.
   */
  async #reconcile(client: RedisClient, unseen: ReadonlySet<RawDelivery>): Promise<number> {
    const { keys } = this.#settings;
    const inList = await client.lrangeBuffer(this.#processing, 0, -1);
    const keep = new Map<string, number>();
    for (const held of this.#held.values()) {
      if (unseen.has(held.delivery)) continue;
      const key = held.value.toString('latin1');
      keep.set(key, (keep.get(key) ?? 0) + 1);
    }
    const back: Buffer[] = [];
    for (const value of inList) {
      const key = value.toString('latin1');
      const kept = keep.get(key) ?? 0;
      if (kept > 0) keep.set(key, kept - 1);
      else back.push(value);
    }
    let returned = 0;
    for (let start = 0; start < back.length; start += RELEASE_BATCH) {
      returned += Number(
        await runScript(
          client,
          SCRIPTS.release,
          [this.#processing, keys.queue],
          back.slice(start, start + RELEASE_BATCH),
        ),
      );
    }
    if (returned > 0)
      this.#logger.debug({ returned }, 'returned unheld entries of the processing list to the queue');
    return returned;
  }

  async #reap(): Promise<void> {
    if (this.#closed) return;
    try {
      const lockMs = Math.max(10, Math.floor(this.#context.options.reapIntervalMs * 0.8));
      await reapQueue(this.#context.client(), this.#settings.keys, this.consumer, lockMs, this.#logger);
    } catch (error) {
      if (!this.#closed) this.#logger.warn({ err: error }, 'reaper pass failed; trying again later');
    }
  }

  // ---- settling ------------------------------------------------------------------------------

  async #settle(held: Held, settlement: Settlement): Promise<void> {
    const client = this.#context.client();
    const { keys, maxDeliveries } = this.#settings;
    const { delivery, value, entry } = held;
    switch (settlement.kind) {
      case 'ack': {
        if (!(await this.#acks.ack(value))) {
          this.#release(held);
          throw this.#lost(held, 'ack');
        }
        break;
      }
      case 'requeue': {
        const count = delivery.deliveryCount;
        if (maxDeliveries > 0 && count >= maxDeliveries) {
          await this.#deadLetterHeld(client, held, 'max-deliveries');
          return;
        }
        let moved: unknown;
        if (settlement.delayMs > 0) {
          moved = await runScript(
            client,
            SCRIPTS.defer,
            [this.#processing, keys.delayed],
            [value, count, settlement.delayMs, newNonce()],
          );
          this.#context.promoter.schedule(settlement.delayMs);
        } else {
          moved = await runScript(client, SCRIPTS.requeue, [this.#processing, keys.queue], [value, count]);
        }
        if (moved === 0) {
          this.#logger.debug(
            { id: entry.id },
            'requeued a delivery the reaper had already returned to the queue; it comes back as is',
          );
        }
        break;
      }
      case 'dead-letter':
        await this.#deadLetterHeld(client, held, settlement.reason);
        return;
    }
    this.#release(held);
  }

  async #deadLetterHeld(client: RedisClient, held: Held, reason: string): Promise<void> {
    const written = await this.#deadLetter(
      client,
      held.value,
      held.entry,
      reason,
      held.delivery.deliveryCount,
    );
    this.#release(held);
    if (!written) throw this.#lost(held, 'dead-letter');
  }

  /** Moves `value` from the processing list to the dead letters; false if it was not there. */
  async #deadLetter(
    client: RedisClient,
    value: Buffer,
    entry: Entry,
    reason: string,
    deliveryCount: number,
  ): Promise<boolean> {
    const { keys } = this.#settings;
    const letter = deadLetterEntry(entry, this.subject, reason, deliveryCount);
    const written = await runScript(
      client,
      SCRIPTS.deadLetter,
      [this.#processing, keys.deadLetters],
      [value, letter, this.#context.options.deadLetterMaxLen, 'held'],
    );
    if (written === 1) this.#logger.debug({ id: entry.id, reason, deliveryCount }, 'dead-lettered a message');
    return written === 1;
  }

  #release(held: Held): void {
    if (!this.#held.delete(held)) return;
    this.#capacityWaiter?.();
    if (this.#closed && this.#closing !== undefined && this.#held.size === 0) {
      // The last delivery a closed subscription held is settled: leave now rather than at expiry.
      void this.#closing.then(() => this.#leave());
    }
  }

  #lost(held: Held, what: string): TransportError {
    return new TransportError(
      `Cannot ${what} delivery ${held.delivery.id} of ${this.subject}: it is no longer in the processing list ` +
        `of consumer ${this.consumer} (its heartbeat expired and the reaper returned it to the queue), ` +
        'so it is delivered again',
    );
  }
}
