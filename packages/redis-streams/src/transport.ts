import {
  type Capabilities,
  ClosedError,
  checkInteger,
  checkName,
  checkOneOf,
  type Logger,
  newConsumerName,
  type Publisher,
  type ReadOptions,
  rejectUnknownOptions,
  type StoredMessage,
  type SubscribeOptions,
  type Subscription,
  type Transport,
} from '@relaybus/core';
import {
  type ConnectionStatus,
  type ConnectorHealth,
  checkRedisSubject,
  type RedisClient,
  type RedisConnector,
  type StatusDetail,
} from '@relaybus/redis';
import { AckBatcher } from './acks.js';
import { readNewest } from './history.js';
import { type StreamKeys, streamKeys } from './keys.js';
import {
  type RedisStreamsOptions,
  type ResolvedStreamsOptions,
  type ResolvedSubjectOptions,
  resolveStreamsOptions,
} from './options.js';
import { StreamsPublisher } from './publisher.js';
import { StreamsSubscription } from './subscription.js';

/** What the Streams transport guarantees; `ordering` is `per-key` only in ordered mode. */
export function streamsCapabilities(ordered: boolean): Capabilities {
  return {
    persistent: true,
    acknowledgements: true,
    requeue: true,
    delayedRequeue: true,
    delayedPublish: true,
    deadLetter: true,
    competingConsumers: true,
    fanOutGroups: true,
    ordering: ordered ? 'per-key' : 'none',
    history: true,
    redeliveryAfterCrash: true,
  };
}

/** `history()` options: `ReadOptions` plus an upper bound. */
export interface StreamReadOptions extends ReadOptions {
  /** Only messages published before this time (ms since the epoch). */
  readonly before?: number;
}

const SUBSCRIBE_KEYS = ['group', 'consumer', 'prefetch', 'maxDeliveries', 'startFrom', 'signal'];

/**
 * The relaybus transport on Redis/Valkey Streams with consumer groups: persistent, acknowledged,
 * with requeue (now or delayed), dead letters, crash recovery by XAUTOCLAIM, optional partitions
 * and ordered consumption, retention and history. Works on standalone servers and on Cluster.
 */
export class RedisStreamsTransport implements Transport {
  readonly name = 'redis-streams';
  readonly capabilities: Capabilities;
  /** The connections; listen to its `status` events for connection health. */
  readonly connector: RedisConnector;
  readonly #options: ResolvedStreamsOptions;
  readonly #logger: Logger;
  readonly #acks: AckBatcher;
  readonly #subscriptions = new Set<StreamsSubscription>();
  readonly #streams = new Map<string, StreamKeys[]>();
  #publisher: StreamsPublisher | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Validates `options` (throws `ConfigError` naming the option); connects lazily. */
  constructor(options: RedisStreamsOptions = {}) {
    this.#options = resolveStreamsOptions(options);
    this.connector = this.#options.connector;
    this.#logger = this.#options.logger.child({ transport: this.name });
    this.capabilities = streamsCapabilities(this.#options.defaults.ordered);
    this.#acks = new AckBatcher(
      () => this.client('acks'),
      this.#options.ackBatchSize,
      this.#options.ackDelayMs,
      this.#logger,
    );
  }

  /** The validated options. */
  get options(): ResolvedStreamsOptions {
    return this.#options;
  }

  /** Connection state without I/O (see `RedisConnector.health`). */
  health(): ConnectorHealth {
    return this.connector.health();
  }

  /** Calls `listener` on every connection status change; returns a function that stops it. */
  onStatus(listener: (status: ConnectionStatus, detail: StatusDetail) => void): () => void {
    this.connector.on('status', listener);
    return () => this.connector.off('status', listener);
  }

  /**
   * Resolves once Redis answers PING; rejects with a `TransportError` naming the target (without
   * credentials) when it cannot connect.
   */
  async connect(): Promise<void> {
    await this.connector.ping(this.client());
  }

  /** The shared command client (publishing, settling, scripts). Throws `ClosedError` once closed. */
  client(role = 'main'): RedisClient {
    if (this.#closed) throw new ClosedError('RedisStreamsTransport');
    return this.connector.client(role);
  }

  /** Settings in force for `subject` (its `subjects` entry, else `defaults`). */
  subjectSettings(subject: string): ResolvedSubjectOptions {
    return this.#options.subjects.get(subject) ?? this.#options.defaults;
  }

  /** The stream keys of `subject`: one, or one per partition. */
  streamKeys(subject: string): StreamKeys[] {
    let keys = this.#streams.get(subject);
    if (keys === undefined) {
      keys = streamKeys(this.connector.keys, checkRedisSubject(subject), this.subjectSettings(subject));
      this.#streams.set(subject, keys);
    }
    return keys;
  }

  publisher(): Publisher {
    this.#assertOpen();
    this.#publisher ??= new StreamsPublisher({
      client: () => this.client(),
      settings: (subject) => this.subjectSettings(subject),
      streams: (subject) => this.streamKeys(subject),
    });
    return this.#publisher;
  }

  async subscribe(subject: string, options: SubscribeOptions = {}): Promise<Subscription> {
    this.#assertOpen();
    checkRedisSubject(subject);
    rejectUnknownOptions('subscribe', options, SUBSCRIBE_KEYS);
    const group = checkName('group', options.group ?? 'default');
    const subscription = new StreamsSubscription(
      {
        subject,
        group,
        consumer: checkName('consumer', options.consumer ?? newConsumerName()),
        prefetch: checkInteger('prefetch', options.prefetch ?? this.#options.prefetch, 1, 100_000),
        maxDeliveries:
          options.maxDeliveries === undefined
            ? this.#options.maxDeliveries
            : checkInteger('maxDeliveries', options.maxDeliveries, 1),
        startFrom: checkOneOf('startFrom', options.startFrom ?? 'new', ['new', 'beginning'] as const),
        subjectSettings: this.subjectSettings(subject),
        streams: this.streamKeys(subject),
        membersKey: `${this.connector.keys.stream(subject)}:members:${group}`,
      },
      {
        options: this.#options,
        connector: this.connector,
        acks: this.#acks,
        logger: this.#logger,
        client: () => this.client(),
      },
      () => this.#subscriptions.delete(subscription),
    );
    this.#subscriptions.add(subscription);
    const signal = options.signal;
    if (signal?.aborted) {
      await subscription.close();
      return subscription;
    }
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    signal?.addEventListener('abort', () => void subscription.close(), { once: true });
    return subscription;
  }

  /** The newest messages of `subject`, newest first (XREVRANGE; partitions merged by time). */
  async history(subject: string, options: StreamReadOptions = {}): Promise<StoredMessage[]> {
    this.#assertOpen();
    rejectUnknownOptions('history', options, ['limit', 'before']);
    const streams = this.streamKeys(subject).map((keys) => keys.stream);
    return readNewest(this.client(), subject, streams, options);
  }

  /** The newest dead letters of `subject`, newest first. */
  async deadLetters(subject: string, options: StreamReadOptions = {}): Promise<StoredMessage[]> {
    this.#assertOpen();
    rejectUnknownOptions('deadLetters', options, ['limit', 'before']);
    const streams = this.streamKeys(subject).map((keys) => keys.deadLetters);
    return readNewest(this.client(), subject, streams, options, 'dead-lettered');
  }

  /**
   * Closes every subscription (unseen deliveries go back to their group, unsettled ones stay
   * pending), sends waiting acks, and closes the connections this transport opened. Idempotent;
   * later calls of other methods throw `ClosedError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#subscriptions].map((subscription) => subscription.close()));
    await this.#acks.flush();
    this.#closed = true;
    if (this.#options.ownsConnector) await this.connector.close();
  }

  #assertOpen(): void {
    if (this.#closed || this.#closing !== undefined) throw new ClosedError('RedisStreamsTransport');
  }
}
