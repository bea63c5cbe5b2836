import { randomBytes } from 'node:crypto';
import {
  AsyncQueue,
  type DeliveryInit,
  GuardedDelivery,
  Header,
  type Logger,
  type RawDelivery,
  RelaybusError,
  type Settlement,
  SlotList,
  type Subscription,
  TransportError,
} from '@relaybus/core';
import { type RedisClient, type RedisConnector, runScript, runScriptBuffer } from '@relaybus/redis';
import type { AckBatcher, AckListener } from './acks.js';
import { compareEntryIds, decodeEntry } from './fields.js';
import { type StreamKeys, trimScriptArgs } from './keys.js';
import type { ResolvedStreamsOptions, ResolvedSubjectOptions } from './options.js';
import { errorText } from './publisher.js';
import { trimStream } from './retention.js';
import { Scripts } from './scripts.js';

/** What a subscription needs from its transport. */
export interface SubscriptionContext {
  readonly options: ResolvedStreamsOptions;
  readonly connector: RedisConnector;
  readonly acks: AckBatcher;
  readonly logger: Logger;
  /** The shared command client; throws `ClosedError` once the transport is closed. */
  client(): RedisClient;
}

/** Settings of one subscription, validated by the transport. */
export interface SubscriptionSettings {
  readonly subject: string;
  readonly group: string;
  readonly consumer: string;
  readonly prefetch: number;
  /** 0: unlimited. */
  readonly maxDeliveries: number;
  readonly startFrom: 'new' | 'beginning';
  readonly subjectSettings: ResolvedSubjectOptions;
  readonly streams: readonly StreamKeys[];
  /** Ordered mode: sorted set of the group's live members (for fair shares of partitions). */
  readonly membersKey: string;
}

/** One fetched, unsettled entry. */
interface Held {
  readonly reader: StreamReader;
  readonly entryId: string;
  /** Set once, right after the Held is made (the delivery's settle token is the Held). */
  delivery: GuardedDelivery;
  /** Deliveries before this stream entry was written (the `d` field of a requeued copy). */
  readonly deliveriesBefore: number;
  readonly key: string | undefined;
  /** Handed to the application's iterator queue (false while parked behind its key). */
  offered: boolean;
  /** Set when the entry was settled, released or lost: it no longer counts against prefetch. */
  done: boolean;
  /** Its place in the reader's held list (-1: not held). */
  slot: number;
}

/** The state of one stream (the subject's, or one partition's) within a subscription. */
interface StreamReader {
  readonly keys: StreamKeys;
  /** Dedicated connection for XREADGROUP BLOCK, made when the reader starts. */
  client: RedisClient | undefined;
  loop: Promise<void> | undefined;
  /** True while this subscription fetches from the stream. */
  active: boolean;
  /** Ordered mode: this subscription holds the stream's lease. */
  leased: boolean;
  /** Ordered mode: giving the lease up (no more fetching; unleased once nothing from it is held). */
  yielding: boolean;
  /** Ordered mode: the lease was just taken; entries the previous owner left come first. */
  draining: boolean;
  reclaimCursor: string;
  /** Fetched, unsettled entries of this stream by entry id. */
  readonly held: SlotList<Held>;
  /** When the fetch loop next looks for idle entries to take over (ms since the epoch). */
  reclaimAt: number;
  promoteTimer: NodeJS.Timeout | undefined;
  promoteAt: number;
  /** Wakes a reader that sleeps (backoff, draining). */
  wake: (() => void) | undefined;
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 5_000;
const PROMOTE_BATCH = 100;
/** Longest XREADGROUP BLOCK while another reader of the subscription waits for prefetch. */
const STARVED_BLOCK_MS = 50;
/** Idle time given to entries released in ordered mode: far beyond any minIdleMs. */
const RELEASED_IDLE_MS = 2_000_000_000;

function isNoGroup(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOGROUP');
}

function asTransportError(what: string, error: unknown): Error {
  if (error instanceof RelaybusError) return error;
  return new TransportError(`${what}: ${errorText(error)}`, { cause: error });
}

/**
 * A subscription of one consumer of a group: one XREADGROUP loop per stream on a dedicated
 * connection, a bounded buffer of deliveries, reclaiming of idle entries, keep-alive of held ones,
 * promotion of due delayed copies, and (ordered mode) partition leases.
 */
export class StreamsSubscription implements Subscription {
  readonly subject: string;
  readonly group: string;
  readonly consumer: string;
  readonly #settings: SubscriptionSettings;
  readonly #context: SubscriptionContext;
  readonly #options: ResolvedStreamsOptions;
  readonly #logger: Logger;
  readonly #queue = new AsyncQueue<RawDelivery>();
  readonly #readers: StreamReader[];
  /** Ordered mode: keys with a delivery out, and deliveries waiting for their key. */
  readonly #busyKeys = new Set<string>();
  readonly #parked = new Map<string, Held[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #leaseToken = randomBytes(8).toString('hex');
  readonly #ordered: boolean;
  #reserved = 0;
  /** Held deliveries whose XACK is on its way: done with, so they no longer count against prefetch. */
  #acking = 0;
  #capacityWaiters: Array<() => void> = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  #leasing: Promise<{ owned: number; target: number }> | undefined;
  #onClose: () => void;

  constructor(settings: SubscriptionSettings, context: SubscriptionContext, onClose: () => void) {
    this.#settings = settings;
    this.subject = settings.subject;
    this.group = settings.group;
    this.consumer = settings.consumer;
    this.#context = context;
    this.#options = context.options;
    this.#ordered = settings.subjectSettings.ordered;
    this.#logger = context.logger.child({
      subject: settings.subject,
      group: settings.group,
      consumer: settings.consumer,
    });
    this.#onClose = onClose;
    this.#readers = settings.streams.map((keys) => ({
      keys,
      client: undefined,
      loop: undefined,
      active: false,
      leased: false,
      yielding: false,
      draining: false,
      reclaimCursor: '0-0',
      held: new SlotList(),
      reclaimAt: 0,
      promoteTimer: undefined,
      promoteAt: 0,
      wake: undefined,
    }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Deliveries fetched and not yet settled (buffered, parked or with the application). */
  get heldCount(): number {
    let count = 0;
    for (const reader of this.#readers) count += reader.held.size;
    return count;
  }

  [Symbol.asyncIterator](): AsyncIterator<RawDelivery> {
    return this.#queue[Symbol.asyncIterator]();
  }

  /** Takes a fetched delivery without waiting, or `undefined` when none is buffered. */
  poll(): RawDelivery | undefined {
    return this.#queue.poll();
  }

  /**
   * Creates the group on every stream (an existing group keeps its cursor) and starts fetching.
   * Resolves once the groups exist, so a message published afterwards reaches this group.
   */
  async start(): Promise<void> {
    const start = this.#settings.startFrom === 'beginning' ? '0' : '$';
    await Promise.all(this.#readers.map((reader) => this.#ensureGroup(reader, start)));
    if (this.#closed) return;
    if (this.#ordered) {
      this.#every(this.#leaseTickMs(), () => this.#leaseTick());
      await this.#joinGroup();
    } else {
      // Resolving once every reader is connected lets messages published right after subscribe()
      // reach a consumer in publish order even across partitions.
      await Promise.all(this.#readers.map((reader) => this.#startReader(reader)));
    }
    this.#every(this.#options.keepAliveIntervalMs, () => this.#keepAliveTick());
    for (const reader of this.#readers) this.#schedulePromote(reader, 0);
    if (this.#options.janitorIntervalMs > 0) {
      this.#every(this.#options.janitorIntervalMs, () => this.#maintenanceTick());
    }
  }

  /**
   * Stops fetching and ends the iteration. Deliveries fetched but never handed to the application
   * go back to the group at once; deliveries the application holds stay pending (they may still be
   * settled) and are reclaimed by another consumer after `minIdleMs`. Resolves once nothing more
   * will be fetched and pending acks were sent. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    const unseen = new Set(this.#queue.close());
    this.#wakeCapacity();
    for (const reader of this.#readers) {
      reader.active = false;
      clearTimeout(reader.promoteTimer);
      reader.wake?.();
      reader.client?.disconnect();
    }
    await Promise.allSettled(this.#readers.map((reader) => reader.loop));
    await Promise.allSettled([...this.#background]);
    const release: Held[] = [];
    for (const reader of this.#readers) {
      for (const held of reader.held.values()) {
        if (!held.offered || unseen.has(held.delivery)) release.push(held);
      }
    }
    this.#parked.clear();
    try {
      await this.#release(release);
      await this.#context.acks.flush();
      await Promise.all(this.#readers.map((reader) => this.#pruneSelf(reader)));
      if (this.#ordered) await this.#leave();
    } catch (error) {
      // The entries stay pending with this consumer and are reclaimed after minIdleMs.
      this.#logger.warn({ err: error }, 'could not return unseen deliveries on close');
    }
    for (const reader of this.#readers) reader.client = undefined;
    this.#onClose();
  }

  // ---- fetching ----------------------------------------------------------------------------

  /** Starts the fetch loop of `reader`; resolves once its connection answers (never rejects). */
  #startReader(reader: StreamReader): Promise<void> {
    if (this.#closed || reader.active) return Promise.resolve();
    reader.active = true;
    const client = this.#context.connector.duplicateFor('reader');
    reader.client = client;
    const loop = this.#readLoop(reader, client).finally(() => {
      if (reader.loop === loop) reader.loop = undefined;
      if (reader.yielding) this.#finishYield(reader);
    });
    reader.loop = loop;
    return client.ping().then(
      () => undefined,
      () => undefined,
    );
  }

  /** Stops fetching at once (lease lost): a blocked read is aborted. */
  #stopReader(reader: StreamReader): void {
    reader.active = false;
    reader.wake?.();
    reader.client?.disconnect();
    reader.client = undefined;
  }

  async #readLoop(reader: StreamReader, client: RedisClient): Promise<void> {
    try {
      await this.#fetch(reader, client);
    } catch (error) {
      if (!this.#closed) this.#logger.error({ err: error, stream: reader.keys.stream }, 'fetch loop failed');
    } finally {
      if (reader.client === client) reader.client = undefined;
      client.disconnect();
    }
  }

  async #fetch(reader: StreamReader, client: RedisClient): Promise<void> {
    const { group, consumer } = this.#settings;
    let failures = 0;
    while (this.#running(reader, client)) {
      if (reader.draining) {
        if (await this.#drained(reader).catch(() => false)) {
          reader.draining = false;
        } else {
          await this.#sleep(reader, this.#options.reclaimIntervalMs);
          continue;
        }
      }
      const count = await this.#reserve(this.#readerShare());
      if (count === 0) continue;
      let reply: unknown;
      try {
        // Taking over idle entries happens here, between reads, with this loop's share of the
        // prefetch; the read below blocks no longer than until the next reclaim is due.
        const now = Date.now();
        if (now >= reader.reclaimAt) {
          const claimed = await this.#reclaim(reader, count);
          const more = claimed > 0 || reader.reclaimCursor !== '0-0';
          reader.reclaimAt = more ? now : now + this.#options.reclaimIntervalMs;
          failures = 0;
          if (claimed > 0) continue;
        }
        // With more partitions than prefetch, another reader may be waiting for a share held by
        // this blocked read: block briefly then, so every partition gets its turn.
        // In ordered mode a read blocks at most one lease tick, so a partition to hand over is
        // noticed within that tick.
        const longest =
          this.#capacityWaiters.length > 0
            ? STARVED_BLOCK_MS
            : this.#ordered
              ? Math.min(this.#options.blockMs, this.#leaseTickMs())
              : this.#options.blockMs;
        const blockMs = Math.max(1, Math.min(longest, reader.reclaimAt - Date.now()));
        // Lower case on purpose: iovalkey finds the key (and so the Cluster slot) of `call`ed
        // commands only by their lower-case name; 'XREADGROUP' would go to a random node.
        reply = await client.callBuffer(
          'xreadgroup',
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          blockMs,
          'STREAMS',
          reader.keys.stream,
          '>',
        );
        failures = 0;
      } catch (error) {
        if (!this.#running(reader, client)) break;
        if (isNoGroup(error)) {
          // The stream or group vanished (deleted, or a restart without persistence): recreate
          // it from the start of what the stream holds rather than skip anything.
          this.#logger.warn({ stream: reader.keys.stream }, 'consumer group missing; recreating it');
          await this.#ensureGroup(reader, '0').catch((cause: unknown) =>
            this.#logger.warn({ err: cause }, 'could not recreate the consumer group'),
          );
        } else {
          failures++;
          const level = failures === 1 ? 'warn' : 'debug';
          this.#logger[level](
            { err: error, stream: reader.keys.stream, failures },
            'XREADGROUP failed; retrying',
          );
        }
        await this.#sleep(reader, Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 7)));
        continue;
      } finally {
        this.#unreserve(count);
      }
      if (reply === null || reply === undefined) continue;
      for (const [, entries] of reply as Array<[Buffer, Array<[Buffer, Buffer[] | null]>]>) {
        for (const [rawId, fields] of entries) {
          if (fields === null) continue;
          const entryId = rawId.toString();
          const decoded = decodeEntry(fields, entryId);
          this.#accept(reader, entryId, fields, decoded.deliveriesBefore + 1, decoded);
        }
      }
    }
  }

  #running(reader: StreamReader, client: RedisClient): boolean {
    return !this.#closed && reader.active && reader.client === client;
  }

  /** Fair share of the prefetch for one read, so every partition gets to fetch. */
  #readerShare(): number {
    return Math.max(1, Math.ceil(this.#settings.prefetch / this.#readers.length));
  }

  /**
   * Waits until at least half of `most` fits under the prefetch (or nothing is held at all), then
   * reserves up to `most`; 0 if closed. Refilling in halves rather than one slot at a time keeps a
   * busy consumer from sending an XREADGROUP per settled delivery.
   */
  async #reserve(most: number): Promise<number> {
    const threshold = Math.max(1, Math.floor(most / 2));
    for (;;) {
      if (this.#closed) return 0;
      const held = this.heldCount;
      const free = this.#settings.prefetch - (held - this.#acking) - this.#reserved;
      if (free >= threshold || (free > 0 && held === 0)) {
        const count = Math.min(free, most);
        this.#reserved += count;
        return count;
      }
      await new Promise<void>((resolve) => this.#capacityWaiters.push(resolve));
    }
  }

  #unreserve(count: number): void {
    this.#reserved -= count;
    if (count > 0) this.#wakeCapacity();
  }

  #wakeCapacity(): void {
    const waiters = this.#capacityWaiters;
    if (waiters.length === 0) return;
    this.#capacityWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Sleeps `ms` unless woken (close, lease change). */
  #sleep(reader: StreamReader, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      reader.wake = () => {
        reader.wake = undefined;
        done();
      };
    });
  }

  /**
   * Turns a fetched entry into a delivery (or a dead letter when past maxDeliveries). The caller
   * makes sure the entry is not held already: entries read with `>` never are (they were never
   * delivered), reclaimed ones are checked.
   */
  #accept(
    reader: StreamReader,
    entryId: string,
    fields: Buffer[],
    deliveryCount: number,
    decodedAlready?: ReturnType<typeof decodeEntry>,
  ): void {
    const decoded = decodedAlready ?? decodeEntry(fields, entryId);
    if (decoded.forGroup !== undefined && decoded.forGroup !== this.group) {
      // Another group's requeued copy: this group had the original already.
      this.#track(
        this.#context.acks
          .ack(reader.keys.stream, this.group, entryId)
          .catch((error: unknown) =>
            this.#logger.warn({ err: error, entryId }, "could not skip another group's requeued copy"),
          ),
      );
      return;
    }
    const maxDeliveries = this.#settings.maxDeliveries;
    if (maxDeliveries > 0 && deliveryCount > maxDeliveries) {
      this.#track(
        this.#deadLetter(reader, entryId, 'max-deliveries', deliveryCount - 1).catch((error: unknown) =>
          this.#logger.warn({ err: error, entryId }, 'could not dead-letter past maxDeliveries'),
        ),
      );
      return;
    }
    const key = decoded.headers[Header.partitionKey];
    const held = this.#hold(reader, entryId, decoded.deliveriesBefore, key, {
      id: decoded.id,
      subject: this.subject,
      payload: decoded.payload,
      headers: decoded.headers,
      deliveryCount,
    });
    this.#offer(held);
  }

  /**
   * Holds an entry: a Held and its delivery (whose settle token is the Held), recorded under the
   * entry id in place of any earlier Held of it.
   */
  #hold(
    reader: StreamReader,
    entryId: string,
    deliveriesBefore: number,
    key: string | undefined,
    init: DeliveryInit,
  ): Held {
    const held: Held = {
      reader,
      entryId,
      deliveriesBefore,
      key,
      offered: false,
      done: false,
      slot: -1,
      delivery: undefined as unknown as GuardedDelivery,
    };
    held.delivery = new GuardedDelivery(init, this.#settleHeld, held);
    reader.held.add(held);
    return held;
  }

  /** Hands a delivery to the application, or (ordered mode) parks it behind its key. */
  #offer(held: Held): void {
    if (this.#ordered && held.key !== undefined) {
      if (this.#busyKeys.has(held.key)) {
        const parked = this.#parked.get(held.key);
        if (parked === undefined) this.#parked.set(held.key, [held]);
        else parked.push(held);
        return;
      }
      this.#busyKeys.add(held.key);
    }
    held.offered = this.#queue.push(held.delivery);
  }

  /** The entry no longer counts against prefetch; its key's next delivery may go. */
  #forget(held: Held): void {
    if (held.done) return;
    held.done = true;
    // A redelivery in place may have taken its entry id already.
    held.reader.held.delete(held);
    if (this.#ordered && held.key !== undefined && this.#busyKeys.has(held.key)) {
      this.#busyKeys.delete(held.key);
      const parked = this.#parked.get(held.key);
      const next = parked?.shift();
      if (parked !== undefined && parked.length === 0) this.#parked.delete(held.key);
      if (next !== undefined && !this.#closed) this.#offer(next);
    }
    if (held.reader.yielding) this.#finishYield(held.reader);
    this.#wakeCapacity();
  }

  // ---- settlement --------------------------------------------------------------------------

  /** Told by the ack batcher when a held entry's XACK was answered (or failed). */
  readonly #ackListener: AckListener<Held> = {
    acked: (held) => {
      this.#acking--;
      this.#forget(held);
    },
    ackFailed: () => {
      this.#acking--;
    },
  };

  /** The settle function of every delivery of this subscription; its token is the delivery's Held. */
  readonly #settleHeld = (settlement: Settlement, token: unknown): Promise<void> =>
    this.#settle(token as Held, settlement);

  #settle(held: Held, settlement: Settlement): Promise<void> {
    if (settlement.kind !== 'ack') return this.#settleOther(held, settlement);
    // The handler is done with it: let the next read refill its slot while XACK travels. The
    // batcher tells #ackListener when it was answered; no promise or closure per ack here.
    this.#acking++;
    this.#wakeCapacity();
    return this.#context.acks.ackFor(
      held.reader.keys.stream,
      this.group,
      held.entryId,
      this.#ackListener,
      held,
    );
  }

  async #settleOther(held: Held, settlement: Exclude<Settlement, { kind: 'ack' }>): Promise<void> {
    const { reader, entryId, delivery } = held;
    const client = this.#context.client();
    try {
      switch (settlement.kind) {
        case 'requeue':
          if (settlement.delayMs > 0) {
            await runScript(
              client,
              Scripts.defer,
              [reader.keys.stream, reader.keys.delayed],
              [this.group, this.consumer, entryId, delivery.deliveryCount, settlement.delayMs],
            );
            this.#schedulePromote(reader, settlement.delayMs);
          } else if (this.#ordered && held.key !== undefined && !this.#closed) {
            await this.#redeliverInPlace(held);
            return;
          } else {
            const [strategy, threshold] = trimScriptArgs(this.#settings.subjectSettings, Date.now());
            await runScript(
              client,
              Scripts.requeue,
              [reader.keys.stream],
              [this.group, this.consumer, strategy, threshold, entryId, delivery.deliveryCount],
            );
          }
          break;
        case 'dead-letter':
          await this.#deadLetter(reader, entryId, settlement.reason, delivery.deliveryCount);
          break;
      }
    } catch (error) {
      throw asTransportError(`${settlement.kind} of ${delivery.id} failed`, error);
    }
    this.#forget(held);
  }

  /**
   * Ordered mode requeue: the entry stays where it is in the stream (a copy at the tail would
   * overtake nothing but be overtaken by later messages of its key); its PEL count grows by one
   * and it is delivered again before anything else of its key.
   */
  async #redeliverInPlace(held: Held): Promise<void> {
    const { reader, entryId, delivery } = held;
    const nextCount = delivery.deliveryCount + 1;
    const maxDeliveries = this.#settings.maxDeliveries;
    if (maxDeliveries > 0 && nextCount > maxDeliveries) {
      await this.#deadLetter(reader, entryId, 'max-deliveries', delivery.deliveryCount);
      this.#forget(held);
      return;
    }
    const client = this.#context.client();
    await client.xclaim(
      reader.keys.stream,
      this.group,
      this.consumer,
      0,
      entryId,
      'RETRYCOUNT',
      nextCount - held.deliveriesBefore,
      'JUSTID',
    );
    held.done = true;
    const again = this.#hold(reader, entryId, held.deliveriesBefore, held.key, {
      id: delivery.id,
      subject: delivery.subject,
      payload: delivery.payload,
      headers: delivery.headers,
      deliveryCount: nextCount,
    });
    // The key stays busy: the new delivery goes out ahead of everything parked behind it.
    again.offered = this.#queue.push(again.delivery);
  }

  async #deadLetter(
    reader: StreamReader,
    entryId: string,
    reason: string,
    deliveryCount: number,
  ): Promise<void> {
    await runScript(
      this.#context.client(),
      Scripts.deadLetter,
      [reader.keys.stream, reader.keys.deadLetters],
      [
        this.group,
        this.consumer,
        this.#options.deadLetterMaxLen,
        this.subject,
        entryId,
        reason,
        deliveryCount,
      ],
    );
  }

  /** Gives deliveries the application never saw back to the group (see `close`). */
  async #release(entries: Held[]): Promise<void> {
    if (entries.length === 0) return;
    const byReader = new Map<StreamReader, Held[]>();
    for (const held of entries) {
      const list = byReader.get(held.reader);
      if (list === undefined) byReader.set(held.reader, [held]);
      else list.push(held);
    }
    const client = this.#context.client();
    await Promise.all(
      [...byReader].map(async ([reader, list]) => {
        if (this.#ordered) {
          // In place, so the next owner of the partition sees them first and in order.
          const args: Array<string | number> = [this.group, this.consumer, RELEASED_IDLE_MS];
          for (const held of list) {
            args.push(held.entryId, held.delivery.deliveryCount - held.deliveriesBefore - 1);
          }
          await runScript(client, Scripts.release, [reader.keys.stream], args);
        } else {
          // A copy with the same delivery count, at once deliverable to the group's other consumers.
          const [strategy, threshold] = trimScriptArgs(this.#settings.subjectSettings, Date.now());
          const args: Array<string | number> = [this.group, this.consumer, strategy, threshold];
          for (const held of list) args.push(held.entryId, held.delivery.deliveryCount - 1);
          await runScript(client, Scripts.requeue, [reader.keys.stream], args);
        }
        for (const held of list) this.#forget(held);
      }),
    );
  }

  // ---- background work ---------------------------------------------------------------------

  #every(intervalMs: number, tick: () => Promise<unknown>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.#closed) return;
      running = true;
      this.#track(
        tick()
          .catch((error: unknown) => this.#logger.warn({ err: error }, 'background task failed'))
          .finally(() => {
            running = false;
          }),
      );
    }, intervalMs);
    timer.unref();
    this.#timers.add(timer);
  }

  #track(work: Promise<unknown>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  /** Reserves what fits under the prefetch now, without waiting. */
  async #reserveNow(): Promise<number> {
    const free = this.#settings.prefetch - (this.heldCount - this.#acking) - this.#reserved;
    if (free <= 0 || this.#closed) return 0;
    this.#reserved += free;
    return free;
  }

  /** Takes over entries idle with crashed or closed consumers (XAUTOCLAIM); returns how many. */
  async #reclaim(reader: StreamReader, count: number): Promise<number> {
    const reply = (await runScriptBuffer(
      this.#context.client(),
      Scripts.reclaim,
      [reader.keys.stream, reader.keys.deadLetters],
      [
        this.group,
        this.consumer,
        this.#options.minIdleMs,
        reader.reclaimCursor,
        count,
        this.#settings.maxDeliveries,
        this.subject,
        this.#options.deadLetterMaxLen,
      ],
    )) as [Buffer, Array<[Buffer, Buffer[], number]>, Buffer[], number];
    const [cursor, claimed, deleted, deadLettered] = reply;
    reader.reclaimCursor = cursor.toString();
    if (deleted.length > 0) {
      this.#logger.warn(
        { stream: reader.keys.stream, ids: deleted.map((id) => id.toString()) },
        'pending entries whose data was trimmed away were acknowledged',
      );
    }
    if (deadLettered > 0) {
      this.#logger.info(
        { stream: reader.keys.stream, count: deadLettered },
        'dead-lettered past maxDeliveries',
      );
    }
    if (claimed.length > 0) {
      this.#logger.debug({ stream: reader.keys.stream, count: claimed.length }, 'reclaimed idle entries');
    }
    // The caller's reservation covers these; close() returns any that were not handed out.
    const heldIds = new Set(claimed.length > 0 ? reader.held.values().map((held) => held.entryId) : []);
    for (const [rawId, fields, deliveryCount] of claimed) {
      const entryId = rawId.toString();
      if (!heldIds.has(entryId)) this.#accept(reader, entryId, fields, Number(deliveryCount));
    }
    return claimed.length;
  }

  /** Resets the idle time of every held entry so no other consumer reclaims it. */
  async #keepAliveTick(): Promise<void> {
    const byReader = new Map<StreamReader, Held[]>();
    for (const reader of this.#readers) {
      if (reader.held.size > 0) byReader.set(reader, [...reader.held.values()]);
    }
    const client = this.#context.client();
    await Promise.all(
      [...byReader].map(async ([reader, list]) => {
        const ids = list.map((held) => held.entryId).sort(compareEntryIds);
        const lost = (await runScript(
          client,
          Scripts.touch,
          [reader.keys.stream],
          [this.group, this.consumer, ids[0] as string, ids[ids.length - 1] as string, ...ids],
        )) as string[];
        if (lost.length === 0) return;
        const gone = new Set(lost);
        for (const held of list) {
          if (!gone.has(held.entryId) || held.done) continue;
          // Settled meanwhile (an ack in flight) or taken over after an outage longer than minIdleMs.
          if (!held.delivery.settled) {
            this.#logger.warn(
              { entryId: held.entryId, id: held.delivery.id },
              'a held entry is no longer pending with this consumer (taken over after minIdleMs)',
            );
            this.#forget(held);
          }
        }
      }),
    );
  }

  #schedulePromote(reader: StreamReader, inMs: number): void {
    if (this.#closed) return;
    const at = Date.now() + inMs;
    if (reader.promoteTimer !== undefined && reader.promoteAt <= at) return;
    clearTimeout(reader.promoteTimer);
    reader.promoteAt = at;
    reader.promoteTimer = setTimeout(() => {
      reader.promoteTimer = undefined;
      this.#track(this.#promote(reader));
    }, inMs);
    reader.promoteTimer.unref();
  }

  /** Moves due delayed copies onto the stream; runs again when the next one is due. */
  async #promote(reader: StreamReader): Promise<void> {
    if (this.#closed) return;
    let waitMs = this.#options.delayedPollMs;
    try {
      const [strategy, threshold] = trimScriptArgs(this.#settings.subjectSettings, Date.now());
      const [moved, nextDueMs] = (await runScript(
        this.#context.client(),
        Scripts.promote,
        [reader.keys.delayed, reader.keys.stream],
        [PROMOTE_BATCH, strategy, threshold],
      )) as [number, number];
      if (moved === PROMOTE_BATCH) waitMs = 0;
      else if (nextDueMs >= 0) waitMs = Math.min(waitMs, nextDueMs);
    } catch (error) {
      if (!this.#closed) this.#logger.warn({ err: error }, 'promoting delayed messages failed');
    }
    this.#schedulePromote(reader, waitMs);
  }

  /** Retention janitor and removal of idle consumers with nothing pending. */
  async #maintenanceTick(): Promise<void> {
    const client = this.#context.client();
    for (const reader of this.#readers) {
      if (this.#closed) return;
      const trimmed = await trimStream(
        client,
        reader.keys.stream,
        this.#settings.subjectSettings,
        Date.now(),
      );
      if (trimmed > 0)
        this.#logger.debug({ stream: reader.keys.stream, trimmed }, 'retention trimmed entries');
      if (this.#options.idleConsumerMs > 0) {
        const deleted = (await runScript(
          client,
          Scripts.pruneConsumers,
          [reader.keys.stream],
          [this.group, this.#options.idleConsumerMs, '', this.consumer],
        )) as string[];
        if (deleted.length > 0) this.#logger.info({ consumers: deleted }, 'removed idle consumers');
      }
    }
  }

  /** Deletes this consumer from the group when it holds nothing pending (on close). */
  async #pruneSelf(reader: StreamReader): Promise<void> {
    await runScript(
      this.#context.client(),
      Scripts.pruneConsumers,
      [reader.keys.stream],
      [this.group, 0, this.consumer, ''],
    );
  }

  async #ensureGroup(reader: StreamReader, start: string): Promise<void> {
    try {
      await this.#context.client().xgroup('CREATE', reader.keys.stream, this.group, start, 'MKSTREAM');
    } catch (error) {
      // BUSYGROUP: the group exists and keeps its cursor.
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) {
        throw asTransportError(`creating group "${this.group}" on ${reader.keys.stream} failed`, error);
      }
    }
  }

  // ---- ordered mode: partition leases ------------------------------------------------------

  #leaseKey(reader: StreamReader): string {
    return `${reader.keys.stream}:lease:${this.group}`;
  }

  #leaseTickMs(): number {
    return Math.max(10, Math.floor(this.#options.leaseMs / 3));
  }

  /**
   * Ordered mode, on subscribe: registers as a member and waits (at most 2 × leaseMs) until this
   * member holds its share of the partitions, so that work published right after subscribe()
   * resolved is split as it will stay. Other members hand partitions over within a lease tick.
   */
  async #joinGroup(): Promise<void> {
    const deadline = Date.now() + 2 * this.#options.leaseMs;
    const pollMs = Math.max(5, Math.floor(this.#leaseTickMs() / 4));
    for (;;) {
      const { owned, target } = await this.#leaseTick();
      if (owned >= target || this.#closed || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * Ordered mode, every leaseMs / 3 (and while joining): heartbeats this member, renews held
   * leases (stopping at once where one was lost), gives up partitions beyond its share (releasing
   * each once what it holds from it is settled) and takes free ones up to its share. Shares come
   * from the rank of this member among the live ones: floor(P / n), plus one for the first P mod n.
   * Ticks never overlap: a call during a running tick waits for it and reports its result.
   */
  #leaseTick(): Promise<{ owned: number; target: number }> {
    this.#leasing ??= this.#leaseTickNow().finally(() => {
      this.#leasing = undefined;
    });
    return this.#leasing;
  }

  async #leaseTickNow(): Promise<{ owned: number; target: number }> {
    const client = this.#context.client();
    const partitions = this.#readers.length;
    const members = (
      (await runScript(
        client,
        Scripts.members,
        [this.#settings.membersKey],
        [this.#leaseToken, this.#options.leaseMs, '0'],
      )) as string[]
    ).sort();
    const rank = Math.max(0, members.indexOf(this.#leaseToken));
    const count = Math.max(1, members.length);
    const target = Math.floor(partitions / count) + (rank < partitions % count ? 1 : 0);
    await Promise.all(
      this.#readers
        .filter((reader) => reader.leased)
        .map(async (reader) => {
          if (await this.#lease(reader)) return;
          reader.leased = false;
          reader.yielding = false;
          if (this.#closed) return;
          this.#logger.warn({ stream: reader.keys.stream }, 'partition lease lost; stopped reading it');
          this.#stopReader(reader);
        }),
    );
    if (this.#closed) return { owned: 0, target };
    let owned = this.#readers.filter((reader) => reader.leased && !reader.yielding);
    for (const reader of owned.slice(target)) {
      reader.yielding = true;
      reader.active = false;
      reader.wake?.();
      this.#finishYield(reader);
    }
    owned = owned.slice(0, target);
    const started: Promise<void>[] = [];
    // Start the search at a member-specific offset so members do not all race for partition 0.
    const offset = rank % partitions;
    for (let i = 0; i < partitions && owned.length < target; i++) {
      const reader = this.#readers[(offset + i) % partitions] as StreamReader;
      if (reader.leased || this.#closed) continue;
      if (!(await this.#lease(reader))) continue;
      reader.leased = true;
      reader.draining = true;
      owned.push(reader);
      started.push(this.#startReader(reader));
    }
    await Promise.all(started);
    return { owned: owned.length, target };
  }

  /** Releases the lease of a partition being given up, once nothing from it is fetched or held. */
  #finishYield(reader: StreamReader): void {
    if (!reader.yielding || reader.loop !== undefined || this.#heldFrom(reader) > 0 || this.#closed) return;
    reader.yielding = false;
    reader.leased = false;
    this.#track(
      this.#unlease(reader).catch((error: unknown) =>
        this.#logger.warn({ err: error, stream: reader.keys.stream }, 'releasing a partition lease failed'),
      ),
    );
  }

  async #lease(reader: StreamReader): Promise<boolean> {
    try {
      const result = await runScript(
        this.#context.client(),
        Scripts.lease,
        [this.#leaseKey(reader)],
        [this.#leaseToken, this.#options.leaseMs],
      );
      return result === 1;
    } catch (error) {
      this.#logger.warn({ err: error, stream: reader.keys.stream }, 'lease call failed');
      // Keep what we had: the lease outlives a short outage by up to leaseMs.
      return reader.leased;
    }
  }

  #heldFrom(reader: StreamReader): number {
    return reader.held.size;
  }

  /**
   * Ordered mode, just after taking a lease: true once no entry of the group on this stream is
   * pending with another consumer (the reclaim loop takes them over as they turn idle).
   */
  async #drained(reader: StreamReader): Promise<boolean> {
    const summary = (await this.#context.client().xpending(reader.keys.stream, this.group)) as [
      number,
      string | null,
      string | null,
      Array<[string, string]> | null,
    ];
    const others = (summary[3] ?? []).filter(([name]) => name !== this.consumer);
    if (others.length === 0) return true;
    const count = await this.#reserveNow();
    if (count > 0) {
      try {
        await this.#reclaim(reader, count);
      } finally {
        this.#unreserve(count);
      }
    }
    return false;
  }

  async #unlease(reader: StreamReader): Promise<void> {
    await runScript(this.#context.client(), Scripts.unlease, [this.#leaseKey(reader)], [this.#leaseToken]);
  }

  /** Ordered mode, on close: gives up every lease and leaves the member set. */
  async #leave(): Promise<void> {
    await Promise.all(this.#readers.filter((reader) => reader.leased).map((reader) => this.#unlease(reader)));
    await runScript(
      this.#context.client(),
      Scripts.members,
      [this.#settings.membersKey],
      [this.#leaseToken, this.#options.leaseMs, '1'],
    );
  }
}
