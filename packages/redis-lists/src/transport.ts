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
import { readDeadLetters } from './dead-letters.js';
import { checkConsumerName, type ListKeys, listKeys } from './keys.js';
import {
  type ListsMode,
  type RedisListsOptions,
  type ResolvedListsOptions,
  resolveListsOptions,
} from './options.js';
import { Promoter } from './promoter.js';
import { ListsPublisher } from './publisher.js';
import { ReliableSubscription } from './reliable.js';
import { SimpleSubscription } from './simple.js';
import type { SubscriptionContext } from './subscription.js';

/**
 * What the Lists transport guarantees in each mode.
 *
 * Both: persistent (the queue is a Redis list), delayed publish (a sorted set promoted by Lua),
 * dead letters (`nack({ requeue: false })` writes the dead-letter list), competing consumers (a
 * list is one work queue), no fan-out groups (every consumer of a subject takes from the same list,
 * whatever its `group`), no history, ordering `none` (FIFO from one queue, but competing consumers
 * and requeues reorder what handlers see).
 *
 * `reliable` adds acknowledgements, requeue (now or delayed) and redelivery after a crash (the
 * reaper). `simple` has none of these: a message leaves Redis when it is fetched.
 */
export function listsCapabilities(mode: ListsMode): Capabilities {
  const reliable = mode === 'reliable';
  return {
    persistent: true,
    acknowledgements: reliable,
    requeue: reliable,
    delayedRequeue: reliable,
    delayedPublish: true,
    deadLetter: true,
    competingConsumers: true,
    fanOutGroups: false,
    ordering: 'none',
    history: false,
    redeliveryAfterCrash: reliable,
  };
}

const SUBSCRIBE_KEYS = ['group', 'consumer', 'prefetch', 'maxDeliveries', 'startFrom', 'signal'];

type ListsSubscription = ReliableSubscription | SimpleSubscription;

/**
 * The relaybus transport on Redis/Valkey lists: work queues, one list per subject. In `reliable`
 * mode (default) each consumer moves messages into its own processing list (BLMOVE) until they are
 * settled, with requeue, delays, dead letters and crash recovery by heartbeat and reaper; in
 * `simple` mode consumers pop (BRPOP) and nothing is acknowledged. Standalone or Cluster: all keys
 * of a queue share its hash tag.
 */
export class RedisListsTransport implements Transport {
  readonly name = 'redis-lists';
  readonly capabilities: Capabilities;
  /** The connections; listen to its `status` events for connection health. */
  readonly connector: RedisConnector;
  readonly #options: ResolvedListsOptions;
  readonly #logger: Logger;
  readonly #subscriptions = new Set<ListsSubscription>();
  readonly #keys = new Map<string, ListKeys>();
  readonly #promoters = new Map<string, Promoter>();
  readonly #groupWarned = new Set<string>();
  #publisher: ListsPublisher | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Validates `options` (throws `ConfigError` naming the option); connects lazily. */
  constructor(options: RedisListsOptions = {}) {
    this.#options = resolveListsOptions(options);
    this.connector = this.#options.connector;
    this.#logger = this.#options.logger.child({ transport: this.name, mode: this.#options.mode });
    this.capabilities = listsCapabilities(this.#options.mode);
  }

  /** The validated options. */
  get options(): ResolvedListsOptions {
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
  client(): RedisClient {
    if (this.#closed || this.#closing !== undefined) throw new ClosedError('RedisListsTransport');
    return this.connector.client('main');
  }

  /** The keys of `subject`'s queue (throws `ConfigError` for a subject Redis transports refuse). */
  keys(subject: string): ListKeys {
    let keys = this.#keys.get(subject);
    if (keys === undefined) {
      keys = listKeys(this.connector.keys, checkRedisSubject(subject));
      this.#keys.set(subject, keys);
    }
    return keys;
  }

  publisher(): Publisher {
    this.#assertOpen();
    this.#publisher ??= new ListsPublisher({
      client: () => this.client(),
      keys: (subject) => this.keys(subject),
      scheduled: (subject, delayMs) => this.#promoters.get(subject)?.schedule(delayMs),
    });
    return this.#publisher;
  }

  /**
   * Starts consuming `subject`'s queue. `group` does not split the queue: every consumer of a
   * subject competes for its messages (a list is one group). `startFrom` has no effect: a queue
   * holds what nobody has taken yet. Resolves once the consumer is registered.
   */
  async subscribe(subject: string, options: SubscribeOptions = {}): Promise<Subscription> {
    this.#assertOpen();
    const keys = this.keys(subject);
    rejectUnknownOptions('subscribe', options, SUBSCRIBE_KEYS);
    const group = checkName('group', options.group ?? 'default');
    if (group !== 'default' && !this.#groupWarned.has(`${subject}\u0000${group}`)) {
      this.#groupWarned.add(`${subject}\u0000${group}`);
      this.#logger.info(
        { subject, group },
        'redis-lists has no consumer groups: this consumer competes with every other consumer of the subject',
      );
    }
    if (options.startFrom !== undefined)
      checkOneOf('startFrom', options.startFrom, ['new', 'beginning'] as const);
    const settings = {
      subject,
      group,
      consumer: checkConsumerName(options.consumer ?? newConsumerName()),
      prefetch: checkInteger('prefetch', options.prefetch ?? this.#options.prefetch, 1, 100_000),
      maxDeliveries:
        options.maxDeliveries === undefined
          ? this.#options.maxDeliveries
          : checkInteger('maxDeliveries', options.maxDeliveries, 1),
      keys,
    };
    let promoter = this.#promoters.get(subject);
    if (promoter === undefined) {
      promoter = new Promoter(keys, () => this.client(), this.#options.delayedPollMs, this.#logger);
      this.#promoters.set(subject, promoter);
    }
    const context: SubscriptionContext = {
      options: this.#options,
      connector: this.connector,
      logger: this.#logger,
      client: () => this.client(),
      promoter,
      onClose: (subscription) => this.#subscriptions.delete(subscription as ListsSubscription),
    };
    const subscription =
      this.#options.mode === 'reliable'
        ? new ReliableSubscription(settings, context)
        : new SimpleSubscription(settings, context);
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

  /** The newest dead letters of `subject`, newest first (LRANGE of its dead-letter list). */
  async deadLetters(subject: string, options: ReadOptions = {}): Promise<StoredMessage[]> {
    this.#assertOpen();
    rejectUnknownOptions('deadLetters', options, ['limit']);
    const limit = checkInteger('limit', options.limit ?? 100, 1, 100_000);
    return readDeadLetters(this.client(), this.keys(subject).deadLetters, subject, limit);
  }

  /**
   * Closes every subscription (unpulled deliveries go back to the queue; unsettled ones stay in
   * their processing lists until the reaper returns them) and the connections this transport
   * opened. Idempotent; later calls of other methods reject with `ClosedError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.allSettled([...this.#subscriptions].map((subscription) => subscription.close()));
    for (const promoter of this.#promoters.values()) while (!promoter.release());
    this.#closed = true;
    if (this.#options.ownsConnector) await this.connector.close();
  }

  #assertOpen(): void {
    if (this.#closed || this.#closing !== undefined) throw new ClosedError('RedisListsTransport');
  }
}
