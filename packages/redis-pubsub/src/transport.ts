import { EventEmitter } from 'node:events';
import {
  type Capabilities,
  ClosedError,
  checkName,
  checkOneOf,
  type Logger,
  newConsumerName,
  type Publisher,
  rejectUnknownOptions,
  type SubscribeOptions,
  type Transport,
  UnsupportedError,
} from '@relaybus/core';
import {
  type ConnectionStatus,
  type ConnectorHealth,
  type HostPort,
  type RedisClient,
  RedisConnector,
  type ResolvedRedisOptions,
  type StatusDetail,
} from '@relaybus/redis';
import { ChannelNames, isPattern } from './channels.js';
import { SubscriberLink } from './link.js';
import {
  checkBufferSize,
  checkOverflow,
  type OverflowPolicy,
  type PubSubMode,
  type RedisPubSubOptions,
  type ResolvedPubSubOptions,
  resolvePubSubOptions,
} from './options.js';
import { PubSubPublisher } from './publisher.js';
import {
  type PubSubSubscription,
  RedisPubSubSubscription,
  type SubscriptionStatusEvent,
} from './subscription.js';
import { ClusterTopology } from './topology.js';

/**
 * What the Pub/Sub transport guarantees. Nothing is stored, nothing is acknowledged, every
 * subscriber gets every message published while it is subscribed. `ordering` is `total` — every
 * subscriber sees one subject's messages in the order Redis executed the publishes — except for
 * classic mode on a Cluster, where messages of other nodes arrive over the cluster bus (`none`).
 */
export function pubsubCapabilities(mode: PubSubMode, cluster: boolean): Capabilities {
  return {
    persistent: false,
    acknowledgements: false,
    requeue: false,
    delayedRequeue: false,
    delayedPublish: false,
    deadLetter: false,
    competingConsumers: false,
    fanOutGroups: true,
    ordering: mode === 'classic' && cluster ? 'none' : 'total',
    history: false,
    redeliveryAfterCrash: false,
  };
}

/** `SubscribeOptions` plus the Pub/Sub buffer settings of this one subscription. */
export interface PubSubSubscribeOptions extends SubscribeOptions {
  /** Overrides the transport's `bufferSize` for this subscription. */
  readonly bufferSize?: number;
  /** Overrides the transport's `overflow` for this subscription. */
  readonly overflow?: OverflowPolicy;
}

const SUBSCRIBE_KEYS = [
  'group',
  'consumer',
  'prefetch',
  'maxDeliveries',
  'startFrom',
  'signal',
  'bufferSize',
  'overflow',
] as const;

interface TransportEvents {
  status: [status: ConnectionStatus, detail: StatusDetail];
  subscription: [event: SubscriptionStatusEvent];
}

/** The settings of a connection to one Cluster node, from the transport's Cluster settings. */
function nodeOptions(base: ResolvedRedisOptions, node: HostPort): ResolvedRedisOptions {
  const host = node.host.includes(':') ? `[${node.host}]` : node.host;
  return Object.freeze({
    ...base,
    mode: 'standalone' as const,
    host: node.host,
    port: node.port,
    db: 0,
    clusterNodes: Object.freeze([]),
    sentinel: undefined,
    target: `${base.tls === undefined ? 'redis' : 'rediss'}://${host}:${node.port}/0`,
  });
}

/**
 * The relaybus transport on Redis/Valkey Pub/Sub, classic (PUBLISH / SUBSCRIBE, PSUBSCRIBE for
 * patterns such as `orders.*`) or sharded (SPUBLISH / SSUBSCRIBE). Fire and forget: a message
 * reaches the subscribers connected when it is published, and nobody else; `publish` says how
 * many. Every subscription has a connection of its own, resubscribes after reconnects (reporting
 * the gap), follows its slot on a Cluster, and buffers at most `bufferSize` messages.
 */
export class RedisPubSubTransport implements Transport {
  readonly name = 'redis-pubsub';
  readonly capabilities: Capabilities;
  /** The shared connections (publishing, slot map); subscriptions have connections of their own. */
  readonly connector: RedisConnector;
  readonly #options: ResolvedPubSubOptions;
  readonly #logger: Logger;
  readonly #names: ChannelNames;
  readonly #events = new EventEmitter<TransportEvents>();
  readonly #subscriptions = new Set<RedisPubSubSubscription>();
  readonly #subscriberConnectors = new Set<RedisConnector>();
  readonly #forwardStatus = (status: ConnectionStatus, detail: StatusDetail): void => {
    this.#events.emit('status', status, detail);
  };
  readonly #topology: ClusterTopology | undefined;
  #publisher: PubSubPublisher | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Validates `options` (throws `ConfigError` naming the option); connects lazily. */
  constructor(options: RedisPubSubOptions = {}) {
    this.#options = resolvePubSubOptions(options);
    this.connector = this.#options.connector;
    this.#logger = this.#options.logger.child({ transport: this.name, mode: this.#options.mode });
    this.#names = new ChannelNames(this.connector.keys);
    this.capabilities = pubsubCapabilities(this.#options.mode, this.connector.isCluster);
    this.connector.on('status', this.#forwardStatus);
    if (this.connector.isCluster) {
      this.#topology = new ClusterTopology(
        () => this.client(),
        this.#options.redis.clusterNodes[0]?.host ?? '127.0.0.1',
        this.#options.topologyRefreshMs,
        this.#logger,
      );
    }
  }

  /** The validated options. */
  get options(): ResolvedPubSubOptions {
    return this.#options;
  }

  /**
   * Connection state without I/O: the shared connections and every subscription's own, together
   * (`ready` only when all are).
   */
  health(): ConnectorHealth {
    this.#forgetClosedConnectors();
    const reports = [this.connector.health(), ...[...this.#subscriberConnectors].map((c) => c.health())];
    if (this.#closed) return { status: 'closed', connected: false, clients: 0 };
    let status: ConnectionStatus = 'ready';
    if (reports.some((report) => report.status === 'reconnecting')) status = 'reconnecting';
    else if (reports.some((report) => report.status !== 'ready' && report.status !== 'closed')) {
      status = 'connecting';
    }
    const health: ConnectorHealth = {
      status,
      connected: status === 'ready',
      clients: reports.reduce((sum, report) => sum + report.clients, 0),
    };
    const lastError = reports.find((report) => report.lastError !== undefined)?.lastError;
    if (lastError !== undefined) health.lastError = lastError;
    return health;
  }

  /**
   * Calls `listener` on every connection status change, of the shared connections and of every
   * subscription's own (role `subscriber`); returns a function that stops it.
   */
  onStatus(listener: (status: ConnectionStatus, detail: StatusDetail) => void): () => void {
    this.#events.on('status', listener);
    return () => this.#events.off('status', listener);
  }

  /**
   * Calls `listener` when a subscription is subscribed, interrupted (its connection lost, its
   * slot moved: messages published from then on are missed), resubscribed (with `gapMs`, how long
   * it was away) or closed. Returns a function that stops it.
   */
  onSubscriptionStatus(listener: (event: SubscriptionStatusEvent) => void): () => void {
    this.#events.on('subscription', listener);
    return () => this.#events.off('subscription', listener);
  }

  /**
   * Resolves once Redis answers PING; rejects with a `TransportError` naming the target (without
   * credentials) when it cannot connect.
   */
  async connect(): Promise<void> {
    await this.connector.ping(this.client());
  }

  /** The shared command client (publishing, slot map). Throws `ClosedError` once closed. */
  client(): RedisClient {
    this.#assertOpen();
    return this.connector.client('publisher');
  }

  /** A publisher on the shared connection; `publish` resolves with `{ id, receivers }`. */
  publisher(): Publisher {
    this.#assertOpen();
    this.#publisher ??= new PubSubPublisher({
      mode: this.#options.mode,
      names: this.#names,
      client: () => this.client(),
    });
    return this.#publisher;
  }

  /**
   * Subscribes on a connection of its own; resolves once Redis confirmed the subscription, so a
   * message published after that reaches it. A subject with `*` is a pattern (classic mode only).
   * Every subscription gets every message: `group` is recorded but shares nothing (there are no
   * competing consumers on Pub/Sub); `prefetch` and `maxDeliveries` have no effect.
   */
  async subscribe(subject: string, options: PubSubSubscribeOptions = {}): Promise<PubSubSubscription> {
    this.#assertOpen();
    rejectUnknownOptions('subscribe', options, SUBSCRIBE_KEYS);
    const pattern = typeof subject === 'string' && isPattern(subject);
    if (pattern && this.#options.mode === 'sharded') {
      throw new UnsupportedError(
        `cannot subscribe to the pattern ${JSON.stringify(subject)} in sharded mode: Redis has no sharded pattern subscription; use mode: 'classic'`,
      );
    }
    const channel = pattern ? this.#names.pattern(subject) : this.#names.channel(subject);
    const group = checkName('group', options.group ?? 'default');
    const consumer = checkName('consumer', options.consumer ?? newConsumerName());
    const startFrom = checkOneOf('startFrom', options.startFrom ?? 'new', ['new', 'beginning'] as const);
    if (startFrom === 'beginning') {
      throw new UnsupportedError(
        "redis-pubsub keeps no history: startFrom 'beginning' is impossible (capabilities.history is false)",
      );
    }
    const logger = this.#logger.child({ subject, consumer });
    const subscription = new RedisPubSubSubscription({
      subject,
      channel,
      group,
      bufferSize: checkBufferSize('bufferSize', options.bufferSize ?? this.#options.bufferSize),
      overflow: checkOverflow('overflow', options.overflow ?? this.#options.overflow),
      rawContentType: this.#options.rawContentType,
      subjectOf: pattern ? (name) => this.#names.subjectOf(name) : undefined,
      warnIntervalMs: this.#options.warnIntervalMs,
      logger,
      onEvent: (event) => this.#events.emit('subscription', event),
      onClose: () => this.#subscriptions.delete(subscription),
    });
    const link = new SubscriberLink({
      command: pattern ? 'psubscribe' : this.#options.mode === 'sharded' ? 'ssubscribe' : 'subscribe',
      channel,
      slot: this.#names.slot(channel),
      topology: this.#topology,
      connect: (node) => this.#subscriberConnector(node),
      onMessage: (name, payload) => subscription.receive(name, payload),
      onEvent: (event) => subscription.linkEvent(event),
      logger,
    });
    this.#subscriptions.add(subscription);
    const signal = options.signal;
    if (signal?.aborted) {
      await subscription.close();
      return subscription;
    }
    try {
      await subscription.start(link);
    } catch (error) {
      await subscription.close();
      throw error;
    }
    signal?.addEventListener('abort', () => void subscription.close(), { once: true });
    return subscription;
  }

  /**
   * Closes every subscription (UNSUBSCRIBE, its connection closed, its iteration ended) and the
   * connections this transport opened. Idempotent; later calls of other methods throw `ClosedError`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#topology?.close();
    await Promise.allSettled([...this.#subscriptions].map((subscription) => subscription.close()));
    await Promise.allSettled([...this.#subscriberConnectors].map((connector) => connector.close()));
    this.connector.off('status', this.#forwardStatus);
    if (this.#options.ownsConnector) await this.connector.close();
  }

  /** A connector of its own for one subscription connection (to `node` on a Cluster). */
  #subscriberConnector(node: HostPort | undefined): RedisConnector {
    this.#assertOpen();
    const base = this.#options.redis;
    const options = node === undefined ? base : nodeOptions(base, node);
    const connector = new RedisConnector(options, this.#logger);
    connector.on('status', this.#forwardStatus);
    this.#forgetClosedConnectors();
    this.#subscriberConnectors.add(connector);
    return connector;
  }

  /** Drops connectors their subscriptions closed (a subscription closes its own). */
  #forgetClosedConnectors(): void {
    for (const connector of this.#subscriberConnectors) {
      if (connector.health().status === 'closed') {
        connector.off('status', this.#forwardStatus);
        this.#subscriberConnectors.delete(connector);
      }
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('RedisPubSubTransport');
  }
}
