import { ClosedError, type Logger, TransportError } from '@relaybus/core';
import { type HostPort, hashSlot, RedisConnector, type ResolvedRedisOptions } from '@relaybus/redis';
import { type Cluster, Redis } from 'iovalkey';

/** What a watcher of a channel is told. */
export interface ChannelListener {
  /** A message arrived on the channel. */
  message(payload: Buffer): void;
  /**
   * The subscription was lost (a reconnect, a slot that moved) and is back: messages published
   * in between were missed, so read again what the messages would have said.
   */
  resync(): void;
  /** The notifier closed; no message will come. */
  closed(): void;
}

/** A connection holding subscriptions: the one connection, or one per Cluster node. */
interface Link {
  readonly id: string;
  readonly client: Redis;
  /** Set when the link has a connector of its own (a Cluster node), closed with the link. */
  readonly connector: RedisConnector | undefined;
  readonly channels: Set<string>;
  wasReady: boolean;
}

interface Entry {
  readonly channel: string;
  readonly listeners: Set<ChannelListener>;
  link: Link | undefined;
  /** Settles when the current (re)subscription is in place on the server, or failed. */
  subscribed: Promise<void>;
}

/** SSUBSCRIBE redirections followed before giving up. */
const MAX_REDIRECTS = 5;
/** Pause before retrying a resubscription that failed. */
const RESUBSCRIBE_RETRY_MS = 1_000;
const MOVED = /^MOVED \d+ (.+):(\d+)$/;
/** iovalkey reports a server-sent SUNSUBSCRIBE (the slot left the node) as an error naming it. */
const SERVER_UNSUBSCRIBE = /Last reply: sunsubscribe/;
const ROLE = 'cache-subscriber';

function movedTarget(error: unknown): HostPort | undefined {
  const match = error instanceof Error ? MOVED.exec(error.message) : null;
  return match === null ? undefined : { host: match[1] as string, port: Number(match[2]) };
}

function parseNode(nodeKey: string): HostPort {
  const colon = nodeKey.lastIndexOf(':');
  return { host: nodeKey.slice(0, colon), port: Number(nodeKey.slice(colon + 1)) };
}

/** The settings of a connection to one Cluster node, from the Cluster settings. */
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
 * Shares Pub/Sub subscriptions between the watchers of a channel: the first watcher subscribes,
 * the last one's release unsubscribes. Classic SUBSCRIBE on one dedicated connection, or on a
 * Cluster SSUBSCRIBE on a connection to the node owning the channel's slot (one per node),
 * following MOVED replies. After a reconnect or a slot move it subscribes again and tells the
 * channel's watchers to `resync`.
 */
export class Notifier {
  /** True on a Cluster: writers SPUBLISH and watchers SSUBSCRIBE. */
  readonly sharded: boolean;
  readonly #connector: RedisConnector;
  readonly #logger: Logger;
  readonly #links = new Map<string, Link>();
  readonly #entries = new Map<string, Entry>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(connector: RedisConnector, logger: Logger) {
    this.#connector = connector;
    this.#logger = logger;
    this.sharded = connector.isCluster;
  }

  /** The publish command writers use so that this notifier's watchers hear them. */
  get publishCommand(): 'publish' | 'spublish' {
    return this.sharded ? 'spublish' : 'publish';
  }

  /**
   * Adds `listener` to `channel`; resolves, with the function that removes it, once the server
   * confirmed the subscription (so a message published afterwards reaches the listener). Rejects
   * with `TransportError` when it cannot subscribe, `ClosedError` after `close()`.
   */
  async watch(channel: string, listener: ChannelListener): Promise<() => void> {
    if (this.#closed) throw new ClosedError('cache');
    let entry = this.#entries.get(channel);
    if (entry === undefined) {
      const created: Entry = {
        channel,
        listeners: new Set(),
        link: undefined,
        subscribed: Promise.resolve(),
      };
      created.subscribed = this.#subscribe(created);
      this.#entries.set(channel, created);
      entry = created;
    }
    entry.listeners.add(listener);
    try {
      await entry.subscribed;
    } catch (error) {
      entry.listeners.delete(listener);
      // A later watcher tries again rather than inherit this failure; while others still watch
      // (a failed resubscription), the entry stays and keeps retrying for them.
      if (entry.listeners.size === 0 && this.#entries.get(channel) === entry) {
        this.#entries.delete(channel);
        entry.link?.channels.delete(channel);
      }
      if (this.#closed) throw new ClosedError('cache');
      throw new TransportError(`could not subscribe to ${channel}: ${messageOf(error)}`, { cause: error });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release(entry, listener);
    };
  }

  /** Stops every subscription and connection; every listener hears `closed`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const listeners = [...this.#entries.values()].flatMap((entry) => [...entry.listeners]);
    this.#entries.clear();
    for (const listener of listeners) listener.closed();
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.allSettled(
      links.map((link) => (link.connector === undefined ? link.client.disconnect() : link.connector.close())),
    );
  }

  #release(entry: Entry, listener: ChannelListener): void {
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0) return;
    // Unsubscribe only once the subscription is in place: an UNSUBSCRIBE overtaking it would leave
    // it there, and a newer entry for the channel (made after this one is gone) subscribes after it.
    entry.subscribed.then(
      () => {
        if (entry.listeners.size > 0 || this.#entries.get(entry.channel) !== entry) return;
        this.#entries.delete(entry.channel);
        const link = entry.link;
        if (link === undefined) return;
        link.channels.delete(entry.channel);
        if (link.client.status !== 'ready') return;
        const done = this.sharded
          ? link.client.sunsubscribe(entry.channel)
          : link.client.unsubscribe(entry.channel);
        done.catch((error: unknown) => this.#logger.debug({ err: error }, 'cache: UNSUBSCRIBE failed'));
      },
      () => undefined,
    );
  }

  async #subscribe(entry: Entry): Promise<void> {
    let node = this.sharded ? await this.#ownerOf(entry.channel) : undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new ClosedError('cache');
      const link = this.#link(node);
      entry.link = link;
      link.channels.add(entry.channel);
      try {
        if (this.sharded) await link.client.ssubscribe(entry.channel);
        else await link.client.subscribe(entry.channel);
        return;
      } catch (error) {
        link.channels.delete(entry.channel);
        const moved = movedTarget(error);
        if (moved === undefined || attempt >= MAX_REDIRECTS) throw error;
        node = moved;
      }
    }
  }

  /** The primary owning `channel`'s slot, from the Cluster client's slot map. */
  async #ownerOf(channel: string): Promise<HostPort> {
    const cluster = this.#connector.client('cache') as Cluster;
    const slot = hashSlot(channel);
    let owner = cluster.slots[slot]?.[0];
    if (owner === undefined) {
      // The slot map is read when the Cluster client connects; a command waits for that.
      await cluster.ping();
      owner = cluster.slots[slot]?.[0];
    }
    if (owner === undefined) throw new TransportError(`no Cluster node serves slot ${slot}`);
    return parseNode(owner);
  }

  #link(node: HostPort | undefined): Link {
    const id = node === undefined ? '' : `${node.host}:${node.port}`;
    const existing = this.#links.get(id);
    if (existing !== undefined) return existing;
    let connector: RedisConnector | undefined;
    let client: unknown;
    if (node === undefined) {
      client = this.#connector.duplicateFor(ROLE);
    } else {
      connector = new RedisConnector(nodeOptions(this.#connector.options, node), this.#logger);
      client = connector.client(ROLE);
    }
    if (!(client instanceof Redis)) {
      throw new TransportError('a cache subscription needs a connection to one server, got a Cluster client');
    }
    // Resubscribing ourselves tells us when the subscription is back, so waiters can read again.
    client.options.autoResubscribe = false;
    const link: Link = { id, client, connector, channels: new Set(), wasReady: false };
    client.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, payload: Buffer) => {
      const entry = this.#entries.get(channel.toString());
      if (entry === undefined) return;
      for (const listener of [...entry.listeners]) listener.message(payload);
    });
    client.on('ready', () => {
      if (link.wasReady) this.#resubscribeAll(link);
      link.wasReady = true;
    });
    client.on('error', (error: Error) => {
      if (SERVER_UNSUBSCRIBE.test(error.message)) this.#resubscribeAll(link);
    });
    this.#links.set(id, link);
    return link;
  }

  /** Subscribes again to every channel of `link` (after a reconnect or a slot move) and resyncs. */
  #resubscribeAll(link: Link): void {
    if (this.#closed) return;
    const channels = [...link.channels];
    link.channels.clear();
    for (const channel of channels) {
      const entry = this.#entries.get(channel);
      if (entry !== undefined && entry.link === link) this.#resubscribe(entry);
    }
  }

  #resubscribe(entry: Entry): void {
    const attempt = this.#subscribe(entry);
    entry.subscribed = attempt;
    attempt.then(
      () => {
        for (const listener of [...entry.listeners]) listener.resync();
      },
      (error: unknown) => {
        if (this.#closed || this.#entries.get(entry.channel) !== entry) return;
        this.#logger.warn(
          { err: error, channel: entry.channel, retryInMs: RESUBSCRIBE_RETRY_MS },
          'cache: could not subscribe again; retrying',
        );
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (!this.#closed && this.#entries.get(entry.channel) === entry) this.#resubscribe(entry);
        }, RESUBSCRIBE_RETRY_MS);
        this.#timers.add(timer);
      },
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
