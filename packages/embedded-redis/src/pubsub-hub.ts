import { keySlot } from './crc16.js';
import { globMatch } from './glob.js';
import type { ClientState, ReplyWriter, ServerCore } from './types.js';

type Kind = 'channel' | 'pattern' | 'shard';

/**
 * The server's Pub/Sub registry: who is subscribed to which classic channel, pattern and shard
 * channel, in subscription order. One per server (see `hubOf`). Messages go out through
 * `server.deliver`, so each subscriber gets them in its own protocol (RESP2 array, RESP3 push).
 */
export class PubSubHub {
  readonly #server: ServerCore;
  readonly #channels = new Map<string, Set<ClientState>>();
  readonly #patterns = new Map<string, { match: (text: string) => boolean; clients: Set<ClientState> }>();
  readonly #shards = new Map<string, Set<ClientState>>();

  constructor(server: ServerCore) {
    this.#server = server;
  }

  /** Subscribes `client`; true when it was not subscribed yet. Keeps `client`'s own sets in step. */
  subscribe(client: ClientState, kind: Kind, name: string): boolean {
    if (kind === 'pattern') {
      if (client.patterns.has(name)) return false;
      client.patterns.add(name);
      let entry = this.#patterns.get(name);
      if (entry === undefined) {
        entry = { match: (text: string) => globMatch(name, text), clients: new Set() };
        this.#patterns.set(name, entry);
      }
      entry.clients.add(client);
      return true;
    }
    const own = kind === 'channel' ? client.channels : client.shardChannels;
    if (own.has(name)) return false;
    own.add(name);
    const registry = kind === 'channel' ? this.#channels : this.#shards;
    let clients = registry.get(name);
    if (clients === undefined) {
      clients = new Set();
      registry.set(name, clients);
    }
    clients.add(client);
    return true;
  }

  /** Unsubscribes `client`; true when it was subscribed. */
  unsubscribe(client: ClientState, kind: Kind, name: string): boolean {
    if (kind === 'pattern') {
      if (!client.patterns.delete(name)) return false;
      const entry = this.#patterns.get(name);
      entry?.clients.delete(client);
      if (entry?.clients.size === 0) this.#patterns.delete(name);
      return true;
    }
    const own = kind === 'channel' ? client.channels : client.shardChannels;
    if (!own.delete(name)) return false;
    const registry = kind === 'channel' ? this.#channels : this.#shards;
    const clients = registry.get(name);
    clients?.delete(client);
    if (clients?.size === 0) registry.delete(name);
    return true;
  }

  /**
   * The clients still subscribed to `name`: anyone whose own set no longer holds it (a RESET or
   * disconnect that cleared the client's sets without telling the hub) is dropped on the way.
   */
  #live(kind: Kind, name: string, clients: Set<ClientState>): Set<ClientState> {
    for (const client of clients) {
      const own =
        kind === 'pattern' ? client.patterns : kind === 'channel' ? client.channels : client.shardChannels;
      if (!own.has(name)) clients.delete(client);
    }
    if (clients.size === 0) {
      if (kind === 'pattern') this.#patterns.delete(name);
      else (kind === 'channel' ? this.#channels : this.#shards).delete(name);
    }
    return clients;
  }

  /** Drops every subscription of `client` (disconnect, RESET), without replying. */
  removeClient(client: ClientState): void {
    for (const name of [...client.channels]) this.unsubscribe(client, 'channel', name);
    for (const name of [...client.patterns]) this.unsubscribe(client, 'pattern', name);
    for (const name of [...client.shardChannels]) this.unsubscribe(client, 'shard', name);
  }

  /**
   * Sends `message` to the subscribers of `channel` (`message`) and of every matching pattern
   * (`pmessage`), in subscription order; returns how many deliveries were made.
   */
  publish(channel: string, message: Buffer): number {
    let receivers = 0;
    const name = Buffer.from(channel, 'latin1');
    const clients = this.#channels.get(channel);
    if (clients !== undefined) {
      for (const client of this.#live('channel', channel, clients)) {
        this.#server.deliver(client, (out) => {
          out.push(3);
          out.bulk('message');
          out.bulk(name);
          out.bulk(message);
        });
        receivers++;
      }
    }
    for (const [pattern, entry] of this.#patterns) {
      if (!entry.match(channel)) continue;
      const patternName = Buffer.from(pattern, 'latin1');
      for (const client of this.#live('pattern', pattern, entry.clients)) {
        this.#server.deliver(client, (out) => {
          out.push(4);
          out.bulk('pmessage');
          out.bulk(patternName);
          out.bulk(name);
          out.bulk(message);
        });
        receivers++;
      }
    }
    return receivers;
  }

  /** Sends `message` to the subscribers of shard channel `channel` (`smessage`); returns how many. */
  spublish(channel: string, message: Buffer): number {
    const found = this.#shards.get(channel);
    if (found === undefined) return 0;
    const clients = this.#live('shard', channel, found);
    const name = Buffer.from(channel, 'latin1');
    for (const client of clients) {
      this.#server.deliver(client, (out) => {
        out.push(3);
        out.bulk('smessage');
        out.bulk(name);
        out.bulk(message);
      });
    }
    return clients.size;
  }

  /**
   * Unsubscribes every client from the shard channels of `slot`, sending each an `sunsubscribe`
   * push, as a Redis 7 Cluster node does when it loses the slot; returns how many were dropped.
   */
  dropShardSlot(slot: number): number {
    let dropped = 0;
    for (const [channel, clients] of [...this.#shards]) {
      if (keySlot(channel) !== slot) continue;
      for (const client of [...this.#live('shard', channel, clients)]) {
        this.unsubscribe(client, 'shard', channel);
        this.#server.deliver(client, (out) =>
          writeConfirmation(out, 'sunsubscribe', channel, client.shardChannels.size),
        );
        dropped++;
      }
    }
    return dropped;
  }

  /** Active classic (or shard) channels, those with at least one subscriber, optionally matching a glob. */
  channels(kind: 'channel' | 'shard', pattern?: string): string[] {
    const registry = kind === 'channel' ? this.#channels : this.#shards;
    return [...registry]
      .filter(([name, clients]) => this.#live(kind, name, clients).size > 0)
      .map(([name]) => name)
      .filter((name) => pattern === undefined || globMatch(pattern, name));
  }

  /** Subscribers of a classic (or shard) channel. */
  subscribers(kind: 'channel' | 'shard', channel: string): number {
    const clients = (kind === 'channel' ? this.#channels : this.#shards).get(channel);
    return clients === undefined ? 0 : this.#live(kind, channel, clients).size;
  }

  /** Number of distinct patterns subscribed to. */
  patternCount(): number {
    for (const [pattern, entry] of [...this.#patterns]) this.#live('pattern', pattern, entry.clients);
    return this.#patterns.size;
  }
}

const HUB = Symbol('relaybus.embedded-redis.pubsub-hub');

/**
 * The Pub/Sub hub of `server`, created on first use; it forgets a client's subscriptions when it
 * disconnects. `ServerCore.publish`/`spublish` delegate to its `publish`/`spublish`.
 */
export function hubOf(server: ServerCore): PubSubHub {
  return server.extension(HUB, () => {
    const hub = new PubSubHub(server);
    server.onClientClose((client) => hub.removeClient(client));
    return hub;
  });
}

/** Writes one subscription confirmation (`subscribe`, `unsubscribe`, `psubscribe` …) as a push. */
export function writeConfirmation(
  out: ReplyWriter,
  kind: string,
  name: string | undefined,
  count: number,
): void {
  out.push(3);
  out.bulk(kind);
  if (name === undefined) out.nullBulk();
  else out.bulk(Buffer.from(name, 'latin1'));
  out.integer(count);
}
