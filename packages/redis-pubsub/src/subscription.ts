import {
  Header,
  type Headers,
  type Logger,
  newMessageId,
  type RawDelivery,
  type Settlement,
  type Subscription,
} from '@relaybus/core';
import { BoundedQueue } from './bounded-queue.js';
import { type NackListener, PubSubDelivery } from './delivery.js';
import { decodeEnvelope, plainView } from './envelope.js';
import type { LinkEvent, SubscriberLink } from './link.js';
import type { OverflowPolicy } from './options.js';
import { ThrottledWarning } from './throttled-warning.js';

/** Counters of one Pub/Sub subscription. */
export interface PubSubSubscriptionStats {
  /** Messages that arrived from Redis. */
  readonly received: number;
  /** Messages handed to the application (pulled from the iterator). */
  readonly delivered: number;
  /** Messages dropped by the overflow policy because the buffer was full. */
  readonly dropped: number;
  /** Messages waiting in the buffer now. */
  readonly buffered: number;
  /** Messages still buffered when the subscription closed (discarded). */
  readonly discardedOnClose: number;
  /** Messages delivered without the relaybus envelope (plain PUBLISH from another client), counted when pulled. */
  readonly raw: number;
  /** Times the subscription was lost (connection lost, slot moved) after it had been in place. */
  readonly interruptions: number;
  /** How long the last interruption lasted, in ms, once it ended. */
  readonly lastGapMs: number | undefined;
}

/** A change of a subscription's state, as `RedisPubSubTransport.onSubscriptionStatus` reports it. */
export interface SubscriptionStatusEvent extends LinkEvent {
  /** The subject (or pattern) subscribed to. */
  readonly subject: string;
  /** The channel (or pattern) as Redis knows it, e.g. `relaybus:{orders}`. */
  readonly channel: string;
}

/** A subscription of the Pub/Sub transport: a `Subscription` with overflow counters. */
export interface PubSubSubscription extends Subscription {
  /** The channel (or pattern) as Redis knows it. */
  readonly channel: string;
  /** Messages dropped by the overflow policy so far. */
  readonly dropped: number;
  /** Counters; no I/O. */
  stats(): PubSubSubscriptionStats;
  /**
   * Takes the next buffered delivery synchronously, or returns `undefined` when none is buffered
   * (then wait with the iterator). Draws from the same buffer as the iterator, in the same order.
   */
  poll(): RawDelivery | undefined;
}

/** What a subscription is made of. */
export interface SubscriptionInit {
  readonly subject: string;
  readonly channel: string;
  readonly group: string;
  readonly bufferSize: number;
  readonly overflow: OverflowPolicy;
  readonly rawContentType: string | null;
  /** For pattern subscriptions: the subject a concrete channel belongs to. */
  readonly subjectOf: ((channel: string) => string | undefined) | undefined;
  readonly warnIntervalMs: number;
  readonly logger: Logger;
  readonly onEvent: (event: SubscriptionStatusEvent) => void;
  readonly onClose: () => void;
}

/** A message of a pattern subscription: its concrete channel travels with it. */
interface PatternArrival {
  readonly channel: Buffer;
  readonly payload: Buffer;
}

/** What the buffer holds: the payload alone, or with its channel for a pattern subscription. */
type Arrival = Buffer | PatternArrival;

/**
 * One subscriber: a link holding the Redis subscription on a connection of its own, and a bounded
 * buffer between Redis and the application. Deliveries are made when pulled. Pub/Sub has no
 * acknowledgement: `ack()` and `nack()` resolve without I/O and only enforce the one-settlement
 * rule; a requeue or dead-letter request drops the message, with a (throttled) warning for requeue.
 */
export class RedisPubSubSubscription implements PubSubSubscription {
  readonly subject: string;
  readonly channel: string;
  readonly group: string;
  readonly #init: SubscriptionInit;
  readonly #queue: BoundedQueue<Arrival, RawDelivery>;
  readonly #logger: Logger;
  readonly #dropWarning: ThrottledWarning;
  readonly #requeueWarning: ThrottledWarning;
  readonly #onNack: NackListener;
  readonly #pattern: boolean;
  #link: SubscriberLink | undefined;
  #received = 0;
  #raw = 0;
  #discardedOnClose = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(init: SubscriptionInit) {
    this.subject = init.subject;
    this.channel = init.channel;
    this.group = init.group;
    this.#init = init;
    this.#logger = init.logger;
    this.#queue = new BoundedQueue(init.bufferSize, init.overflow, (arrival) => this.#toDelivery(arrival));
    this.#dropWarning = new ThrottledWarning(
      init.logger,
      `Pub/Sub subscription buffer full (bufferSize ${init.bufferSize}): ${init.overflow === 'drop-oldest' ? 'dropped the oldest buffered messages' : 'dropped new messages'}; the consumer is too slow`,
      init.warnIntervalMs,
    );
    this.#requeueWarning = new ThrottledWarning(
      init.logger,
      'nack({ requeue: true }) on Pub/Sub: the message cannot be delivered again and is dropped (capabilities.requeue is false)',
      init.warnIntervalMs,
    );
    this.#onNack = (settlement) => this.#nacked(settlement);
    this.#pattern = init.subjectOf !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get dropped(): number {
    return this.#queue.dropped;
  }

  stats(): PubSubSubscriptionStats {
    return {
      received: this.#received,
      delivered: this.#queue.pulled,
      dropped: this.#queue.dropped,
      buffered: this.#queue.size,
      discardedOnClose: this.#discardedOnClose,
      raw: this.#raw,
      interruptions: this.#link?.interruptions ?? 0,
      lastGapMs: this.#link?.lastGapMs,
    };
  }

  /** Subscribes through `link`; resolves once Redis confirmed it. */
  async start(link: SubscriberLink): Promise<void> {
    this.#link = link;
    await link.start();
  }

  /** Called by the link for every message; `channel` matters to pattern subscriptions only. */
  receive(channel: Buffer, payload: Buffer): void {
    this.#received++;
    const outcome = this.#queue.push(this.#pattern ? { channel, payload } : payload);
    if (outcome === 'dropped-oldest' || outcome === 'dropped-newest') {
      this.#dropWarning.note({ subject: this.subject, dropped: this.#queue.dropped });
    }
  }

  /** Called by the link when the subscription's state changes; logs the gap and reports it. */
  linkEvent(event: LinkEvent): void {
    const fields = { subject: this.subject, channel: this.channel, node: event.node };
    switch (event.status) {
      case 'interrupted':
        this.#logger.info(
          { ...fields, reason: event.reason, err: event.error },
          'Pub/Sub subscription interrupted: messages published until it is back are not received',
        );
        break;
      case 'resubscribed':
        this.#logger.warn(
          { ...fields, gapMs: event.gapMs },
          `Pub/Sub subscription back after a gap of ${event.gapMs ?? '?'} ms: messages published during the gap were not received`,
        );
        break;
      default:
        this.#logger.debug(fields, `Pub/Sub subscription ${event.status}`);
    }
    this.#init.onEvent({ ...event, subject: this.subject, channel: this.channel });
  }

  /**
   * Unsubscribes and closes the connection, then ends the iteration. Messages still buffered are
   * discarded (counted in `stats().discardedOnClose`): Pub/Sub has nowhere to return them.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#link?.close();
    } finally {
      this.#discardedOnClose = this.#queue.close();
      this.#dropWarning.flush({ subject: this.subject, dropped: this.#queue.dropped });
      if (this.#discardedOnClose > 0) {
        this.#logger.info(
          { subject: this.subject, discarded: this.#discardedOnClose },
          'Pub/Sub subscription closed with messages still buffered; they are discarded',
        );
      }
      this.#init.onClose();
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<RawDelivery> {
    return this.#queue[Symbol.asyncIterator]();
  }

  poll(): RawDelivery | undefined {
    return this.#queue.poll();
  }

  #toDelivery(arrival: Arrival): RawDelivery {
    let subject = this.subject;
    let payload: Buffer;
    if (Buffer.isBuffer(arrival)) {
      payload = arrival;
    } else {
      payload = arrival.payload;
      const channel = arrival.channel.toString('utf8');
      subject = this.#init.subjectOf?.(channel) ?? channel;
    }
    const message = decodeEnvelope(payload);
    if (message !== undefined) {
      return new PubSubDelivery(message.id, subject, message.payload, message.headers, this.#onNack);
    }
    this.#raw++;
    const headers: Headers = {};
    if (this.#init.rawContentType !== null) headers[Header.contentType] = this.#init.rawContentType;
    return new PubSubDelivery(newMessageId(), subject, plainView(payload), headers, this.#onNack);
  }

  /** Pub/Sub cannot requeue or dead-letter: the message is dropped, and that is said in the log. */
  #nacked(settlement: Settlement): void {
    switch (settlement.kind) {
      case 'ack':
        return;
      case 'requeue':
        this.#requeueWarning.note({ subject: this.subject });
        return;
      case 'dead-letter':
        this.#logger.debug(
          { subject: this.subject, reason: settlement.reason },
          'nack({ requeue: false }) on Pub/Sub: dropped (there is no dead-letter store)',
        );
        return;
    }
  }
}
