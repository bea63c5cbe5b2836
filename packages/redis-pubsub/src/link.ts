import { type Logger, TransportError } from '@relaybus/core';
import type { HostPort, RedisConnector } from '@relaybus/redis';
import { Redis } from 'iovalkey';
import { type ClusterTopology, fallbackOrder, nodeKey } from './topology.js';

/** The Redis command that holds a link's subscription. */
export type SubscribeCommand = 'subscribe' | 'psubscribe' | 'ssubscribe';

/** What happened to a link's subscription. */
export type LinkStatus = 'subscribed' | 'interrupted' | 'resubscribed' | 'closed';

/** A change of a link's subscription. */
export interface LinkEvent {
  readonly status: LinkStatus;
  /** The node (`host:port`) the link is connected to, on a Cluster. */
  readonly node?: string;
  /** With `resubscribed`: how long no subscription was in place, in ms. */
  readonly gapMs?: number;
  /** With `interrupted`: what caused it, when known. */
  readonly error?: Error;
  /** With `interrupted`: why, in words. */
  readonly reason?: string;
}

/** What a link needs. */
export interface LinkOptions {
  readonly command: SubscribeCommand;
  /** The channel or pattern, as sent to Redis. */
  readonly channel: string;
  /** Its Cluster hash slot. */
  readonly slot: number;
  /** Set on a Cluster: where slots live. */
  readonly topology: ClusterTopology | undefined;
  /** A new connector of its own: to the configured server, or (on a Cluster) to `node`. */
  readonly connect: (node: HostPort | undefined) => RedisConnector;
  /** A message arrived; `channel` is the concrete channel (useful for patterns). */
  readonly onMessage: (channel: Buffer, payload: Buffer) => void;
  readonly onEvent: (event: LinkEvent) => void;
  readonly logger: Logger;
}

interface Connection {
  readonly connector: RedisConnector;
  readonly client: Redis;
  readonly node: HostPort | undefined;
  wasReady: boolean;
  lastError: Error | undefined;
}

/** SSUBSCRIBE redirections followed while subscribing before giving up. */
const MAX_REDIRECTS = 5;
/** First and longest pause between two recovery rounds on a Cluster. */
const RECOVERY_FIRST_DELAY_MS = 100;
const RECOVERY_MAX_DELAY_MS = 2_000;
/** Recovery rounds on an unreachable node before a classic link tries another node. */
const ROUNDS_BEFORE_OTHER_NODE = 3;
/** Pause before retrying a resubscribe that the server refused. */
const RESUBSCRIBE_RETRY_MS = 1_000;
/** How long close() waits for the UNSUBSCRIBE reply before it disconnects anyway. */
const UNSUBSCRIBE_TIMEOUT_MS = 1_000;

/**
 * iovalkey reports a server-initiated SUNSUBSCRIBE (Redis sends one to every subscriber of a shard
 * channel whose slot left the node) as an error of the command queue, naming the reply.
 */
const SERVER_UNSUBSCRIBE = /Last reply: sunsubscribe/;
const MOVED = /^MOVED \d+ (.+):(\d+)$/;

/** The node named by a MOVED error, if `error` is one. */
export function movedTarget(error: unknown): HostPort | undefined {
  const match = error instanceof Error ? MOVED.exec(error.message) : null;
  return match === null ? undefined : { host: match[1] as string, port: Number(match[2]) };
}

function sameNode(a: HostPort | undefined, b: HostPort | undefined): boolean {
  return a !== undefined && b !== undefined && a.host === b.host && a.port === b.port;
}

/**
 * One channel (or pattern) subscription on a connection of its own, kept in place: after a
 * reconnect it subscribes again; on a Cluster it subscribes at the node owning the channel's slot
 * and moves when the slot does (told by the server, by a MOVED reply, by a lost connection, or by
 * the periodic slot-map check). Every time the subscription is lost and regained it reports
 * `interrupted` and `resubscribed` (with the gap): Pub/Sub keeps nothing for an absent subscriber.
 */
export class SubscriberLink {
  readonly #options: LinkOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #conn: Connection | undefined;
  #subscribed = false;
  #inFlight: Connection | undefined;
  #interruptedAt: number | undefined;
  #interruptions = 0;
  #lastGapMs: number | undefined;
  #recovering = false;
  #unwatch: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: LinkOptions) {
    this.#options = options;
  }

  /** True while the subscription is in place on the server (as far as the link knows). */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Times the subscription was lost after it had been in place. */
  get interruptions(): number {
    return this.#interruptions;
  }

  /** Length of the last gap, in ms (undefined before the first one ended). */
  get lastGapMs(): number | undefined {
    return this.#lastGapMs;
  }

  /** The node the link is connected to (`host:port`), on a Cluster. */
  get node(): string | undefined {
    const node = this.#conn?.node;
    return node === undefined ? undefined : nodeKey(node);
  }

  /**
   * Connects and subscribes; resolves once Redis confirmed the subscription (so a message
   * published afterwards reaches it). Rejects when it cannot (then nothing stays open).
   */
  async start(): Promise<void> {
    const { topology } = this.#options;
    let node: HostPort | undefined;
    if (topology !== undefined) {
      node = await topology.ownerOf(this.#options.slot);
      if (node === undefined) {
        throw new TransportError(`no Cluster node serves slot ${this.#options.slot}`);
      }
    }
    for (let attempt = 1; ; attempt++) {
      const conn = this.#open(node);
      try {
        await this.#subscribeOn(conn);
        break;
      } catch (error) {
        const moved = movedTarget(error);
        if (this.#conn === conn) this.#conn = undefined;
        await this.#drop(conn);
        if (this.#closed || moved === undefined || attempt >= MAX_REDIRECTS) throw error;
        node = moved;
      }
    }
    if (this.#closed) throw new TransportError('the subscription was closed while subscribing');
    this.#subscribed = true;
    this.#emit({ status: 'subscribed' });
    if (topology !== undefined && this.#options.command === 'ssubscribe') {
      this.#unwatch = topology.watch(() => this.#checkOwner());
    }
  }

  /** Unsubscribes, closes the connection and stops every timer. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#subscribed = false;
    this.#unwatch?.();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const conn = this.#conn;
    if (conn !== undefined) {
      if (conn.client.status === 'ready') {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            this.#unsubscribeOn(conn),
            new Promise((resolve) => {
              timer = setTimeout(resolve, UNSUBSCRIBE_TIMEOUT_MS);
            }),
          ]);
        } catch (error) {
          this.#options.logger.debug({ err: error }, 'UNSUBSCRIBE failed; disconnecting');
        } finally {
          clearTimeout(timer);
        }
      }
      await this.#drop(conn);
    }
    this.#emit({ status: 'closed' });
  }

  #open(node: HostPort | undefined): Connection {
    const connector = this.#options.connect(node);
    const client = connector.client('subscriber');
    if (!(client instanceof Redis)) {
      void connector.close();
      throw new TransportError(
        'a Pub/Sub subscription needs a connection to one server, got a Cluster client',
      );
    }
    // We resubscribe ourselves after a reconnect: to know when the subscription is back (and so
    // report the gap), and to follow a MOVED reply to the slot's new owner.
    client.options.autoResubscribe = false;
    const conn: Connection = { connector, client, node, wasReady: false, lastError: undefined };
    const { onMessage } = this.#options;
    switch (this.#options.command) {
      case 'subscribe':
        client.on('messageBuffer', (channel: Buffer, message: Buffer) => {
          if (conn === this.#conn) onMessage(channel, message);
        });
        break;
      case 'ssubscribe':
        client.on('smessageBuffer', (channel: Buffer, message: Buffer) => {
          if (conn === this.#conn) onMessage(channel, message);
        });
        break;
      case 'psubscribe':
        client.on('pmessageBuffer', (_pattern: string, channel: Buffer, message: Buffer) => {
          if (conn === this.#conn) onMessage(channel, message);
        });
        break;
    }
    client.on('ready', () => this.#onReady(conn));
    client.on('close', () => this.#onClose(conn));
    client.on('error', (error: Error) => this.#onError(conn, error));
    this.#conn = conn;
    return conn;
  }

  async #subscribeOn(conn: Connection): Promise<void> {
    const { channel } = this.#options;
    switch (this.#options.command) {
      case 'subscribe':
        await conn.client.subscribe(channel);
        return;
      case 'ssubscribe':
        await conn.client.ssubscribe(channel);
        return;
      case 'psubscribe':
        await conn.client.psubscribe(channel);
        return;
    }
  }

  async #unsubscribeOn(conn: Connection): Promise<void> {
    const { channel } = this.#options;
    switch (this.#options.command) {
      case 'subscribe':
        await conn.client.unsubscribe(channel);
        return;
      case 'ssubscribe':
        await conn.client.sunsubscribe(channel);
        return;
      case 'psubscribe':
        await conn.client.punsubscribe(channel);
        return;
    }
  }

  async #drop(conn: Connection): Promise<void> {
    try {
      await conn.connector.close();
    } catch (error) {
      this.#options.logger.debug({ err: error }, 'closing a subscriber connection failed');
    }
  }

  #onReady(conn: Connection): void {
    if (conn !== this.#conn || this.#closed) return;
    const reconnected = conn.wasReady;
    conn.wasReady = true;
    // The first ready sends the SUBSCRIBE queued by whoever opened the connection.
    if (reconnected && !this.#subscribed) void this.#resubscribe(conn);
  }

  #onClose(conn: Connection): void {
    if (conn !== this.#conn || this.#closed) return;
    this.#interrupt('connection lost', conn.lastError);
  }

  #onError(conn: Connection, error: Error): void {
    if (conn !== this.#conn || this.#closed) return;
    conn.lastError = error;
    if (SERVER_UNSUBSCRIBE.test(error.message)) {
      this.#interrupt('the server ended the shard channel subscription (its slot moved)', error);
      // Without a Cluster there is nowhere else to go: subscribe again on this connection.
      if (this.#options.topology === undefined) void this.#resubscribe(conn);
    }
  }

  /** The periodic slot-map check: a sharded link whose slot now lives elsewhere moves there. */
  #checkOwner(): void {
    const conn = this.#conn;
    if (this.#closed || !this.#subscribed || conn === undefined) return;
    const owner = this.#options.topology?.ownerFromCache(this.#options.slot);
    if (owner !== undefined && !sameNode(owner, conn.node)) {
      this.#interrupt(`its slot moved to ${nodeKey(owner)}`);
    }
  }

  #interrupt(reason: string, error?: Error): void {
    if (!this.#subscribed || this.#closed) return;
    this.#subscribed = false;
    this.#interruptedAt = Date.now();
    this.#interruptions++;
    this.#emit({ status: 'interrupted', reason, ...(error === undefined ? {} : { error }) });
    if (this.#options.topology !== undefined) this.#startRecovery();
  }

  async #resubscribe(conn: Connection): Promise<void> {
    if (this.#inFlight === conn || this.#closed) return;
    this.#inFlight = conn;
    try {
      await this.#subscribeOn(conn);
    } catch (error) {
      if (conn !== this.#conn || this.#closed) return;
      const moved = movedTarget(error);
      if (moved !== undefined && this.#options.topology !== undefined) {
        void this.#switchTo(moved, 1);
        return;
      }
      this.#options.logger.warn(
        { err: error, channel: this.#options.channel, retryInMs: RESUBSCRIBE_RETRY_MS },
        'could not subscribe again after a reconnect; retrying',
      );
      this.#later(RESUBSCRIBE_RETRY_MS, () => {
        if (conn === this.#conn && conn.client.status === 'ready' && !this.#subscribed) {
          void this.#resubscribe(conn);
        }
      });
      return;
    } finally {
      if (this.#inFlight === conn) this.#inFlight = undefined;
    }
    if (conn !== this.#conn || this.#closed) return;
    this.#markSubscribed();
  }

  /** Moves the subscription to `node`: a new connection there, the old one closed. */
  async #switchTo(node: HostPort, depth: number): Promise<void> {
    if (this.#closed) return;
    const old = this.#conn;
    const conn = this.#open(node);
    if (old !== undefined) void this.#drop(old);
    this.#options.logger.info(
      { channel: this.#options.channel, from: old?.node && nodeKey(old.node), to: nodeKey(node) },
      'moving a Pub/Sub subscription to another Cluster node',
    );
    this.#inFlight = conn;
    try {
      await this.#subscribeOn(conn);
    } catch (error) {
      if (conn !== this.#conn || this.#closed) return;
      const moved = movedTarget(error);
      if (moved !== undefined && !sameNode(moved, node) && depth < MAX_REDIRECTS) {
        await this.#switchTo(moved, depth + 1);
        return;
      }
      this.#options.logger.debug(
        { err: error, node: nodeKey(node) },
        'subscribing at another Cluster node failed; will look again',
      );
      this.#startRecovery();
      return;
    } finally {
      if (this.#inFlight === conn) this.#inFlight = undefined;
    }
    if (conn !== this.#conn || this.#closed) return;
    this.#markSubscribed();
  }

  #startRecovery(): void {
    if (this.#recovering || this.#closed) return;
    this.#recovering = true;
    void this.#recover().finally(() => {
      this.#recovering = false;
    });
  }

  /**
   * Cluster only: until subscribed again, look up the slot's owner and move there when it is not
   * where we are. A reconnect to the same node resubscribes by itself (#onReady).
   */
  async #recover(): Promise<void> {
    const { topology, slot, command } = this.#options;
    if (topology === undefined) return;
    let delayMs = RECOVERY_FIRST_DELAY_MS;
    for (let round = 1; !this.#closed && !this.#subscribed; round++) {
      let owner: HostPort | undefined;
      try {
        owner = await topology.ownerOf(slot, true);
      } catch (error) {
        this.#options.logger.debug({ err: error }, 'could not read the cluster slot map; will retry');
      }
      const conn = this.#conn;
      if (this.#closed || this.#subscribed || conn === undefined) return;
      let target = owner;
      const stuck = conn.client.status !== 'ready' && round >= ROUNDS_BEFORE_OTHER_NODE;
      if (command !== 'ssubscribe' && stuck && (owner === undefined || sameNode(owner, conn.node))) {
        // A classic subscription works on any node: leave one that stays unreachable, for the
        // node a classic publisher falls back to as well (then the next one, round by round).
        const primaries = new Map(topology.primaries().map((node) => [nodeKey(node), node]));
        const order = fallbackOrder([...primaries.keys()], owner === undefined ? undefined : nodeKey(owner));
        const candidates = order.filter((key) => conn.node === undefined || key !== nodeKey(conn.node));
        const key = candidates[(round - ROUNDS_BEFORE_OTHER_NODE) % Math.max(1, candidates.length)];
        target = key === undefined ? undefined : primaries.get(key);
      }
      if (target !== undefined && !sameNode(target, conn.node) && this.#inFlight === undefined) {
        await this.#switchTo(target, 1);
      } else if (conn.client.status === 'ready' && this.#inFlight === undefined) {
        void this.#resubscribe(conn);
      }
      if (this.#closed || this.#subscribed) return;
      await new Promise<void>((resolve) => this.#later(delayMs, resolve));
      delayMs = Math.min(delayMs * 2, RECOVERY_MAX_DELAY_MS);
    }
  }

  #markSubscribed(): void {
    if (this.#subscribed || this.#closed) return;
    const gapMs = this.#interruptedAt === undefined ? undefined : Date.now() - this.#interruptedAt;
    this.#subscribed = true;
    this.#interruptedAt = undefined;
    this.#lastGapMs = gapMs;
    this.#emit({ status: 'resubscribed', ...(gapMs === undefined ? {} : { gapMs }) });
  }

  #later(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delayMs);
    this.#timers.add(timer);
  }

  #emit(event: LinkEvent): void {
    const node = this.node;
    this.#options.onEvent(node === undefined ? event : { ...event, node });
  }
}
