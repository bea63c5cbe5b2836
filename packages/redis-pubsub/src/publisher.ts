import {
  ConfigError,
  checkHeaders,
  describeValue,
  Header,
  newMessageId,
  type OutgoingMessage,
  type Publisher,
  TransportError,
  UnsupportedError,
} from '@relaybus/core';
import { CommandCoalescer, type RedisClient } from '@relaybus/redis';
import { Cluster, type Redis } from 'iovalkey';
import type { ChannelNames } from './channels.js';
import { encodeEnvelope } from './envelope.js';
import type { PubSubMode } from './options.js';
import { fallbackOrder } from './topology.js';

/** What `publish` reports on Pub/Sub: the id, and how many subscribers received the message. */
export interface PubSubPublishResult {
  readonly id: string;
  /**
   * The PUBLISH / SPUBLISH reply: subscribers that received the message. On a Cluster it counts
   * the subscribers connected to the node that took the message, which for relaybus subscribers
   * is all of them (they subscribe at the node owning the subject's slot, where it is published).
   */
  readonly receivers: number;
}

/** What a publisher needs from its transport. */
export interface PublisherContext {
  readonly mode: PubSubMode;
  readonly names: ChannelNames;
  /** The shared command client; throws `ClosedError` once the transport is closed. */
  readonly client: () => RedisClient;
}

interface Prepared {
  readonly id: string;
  readonly envelope: Buffer;
}

function prepare(message: OutgoingMessage, option: string): Prepared {
  if (message === null || typeof message !== 'object') {
    throw new ConfigError(
      option,
      `must be an object { payload, headers?, id?, key? }, got ${describeValue(message)}`,
    );
  }
  if (!(message.payload instanceof Uint8Array)) {
    throw new ConfigError(`${option}.payload`, `must be a Uint8Array, got ${describeValue(message.payload)}`);
  }
  if (message.delayMs !== undefined && message.delayMs !== 0) {
    throw new UnsupportedError(
      `redis-pubsub cannot delay a message (${option}.delayMs = ${describeValue(message.delayMs)}): Pub/Sub delivers at once or never (capabilities.delayedPublish is false)`,
    );
  }
  const id = message.id ?? newMessageId();
  if (typeof id !== 'string' || id.length === 0) {
    throw new ConfigError(`${option}.id`, `must be a non-empty string, got ${describeValue(id)}`);
  }
  let headers = checkHeaders(message.headers, `${option}.headers`);
  if (message.key !== undefined) {
    if (typeof message.key !== 'string') {
      throw new ConfigError(`${option}.key`, `must be a string, got ${describeValue(message.key)}`);
    }
    headers = { ...headers, [Header.partitionKey]: message.key };
  }
  return { id, envelope: encodeEnvelope(id, headers, message.payload) };
}

function wrap(error: unknown, what: string): TransportError {
  const reason = error instanceof Error ? error.message : String(error);
  return new TransportError(`${what} failed: ${reason}`, { cause: error });
}

/**
 * Publishes envelopes with PUBLISH (classic) or SPUBLISH (sharded). Resolves once Redis replied,
 * with the number of subscribers that received each message; a message nobody was subscribed to
 * is gone (`receivers: 0`).
 */
export class PubSubPublisher implements Publisher {
  readonly #context: PublisherContext;
  readonly #single: CommandCoalescer;

  constructor(context: PublisherContext) {
    this.#context = context;
    this.#single = new CommandCoalescer(context.mode === 'sharded' ? 'spublish' : 'publish');
  }

  /**
   * Publishes one message. Publishes made in the same tick of the event loop go out as one
   * pipeline per channel; each resolves once Redis answered its own (S)PUBLISH.
   */
  async publish(subject: string, message: OutgoingMessage): Promise<PubSubPublishResult> {
    const channel = this.#context.names.channel(subject);
    const { id, envelope } = prepare(message, 'message');
    const target = this.#targetNow(channel) ?? (await this.#target(channel));
    let receivers: unknown;
    try {
      receivers = await this.#single.send(target, channel, [channel, envelope]);
    } catch (error) {
      throw wrap(error, `${this.#context.mode === 'sharded' ? 'SPUBLISH' : 'PUBLISH'} to ${channel}`);
    }
    return { id, receivers: Number(receivers) };
  }

  async publishMany(subject: string, messages: readonly OutgoingMessage[]): Promise<PubSubPublishResult[]> {
    const channel = this.#context.names.channel(subject);
    if (!Array.isArray(messages)) {
      throw new ConfigError('messages', `must be an array, got ${describeValue(messages)}`);
    }
    const prepared = messages.map((message, i) => prepare(message, `messages[${i}]`));
    if (prepared.length === 0) return [];
    const target = await this.#target(channel);
    const pipeline = target.pipeline();
    const sharded = this.#context.mode === 'sharded';
    for (const { envelope } of prepared) {
      if (sharded) pipeline.spublish(channel, envelope);
      else pipeline.publish(channel, envelope);
    }
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await pipeline.exec();
    } catch (error) {
      throw wrap(error, `publishing ${prepared.length} messages to ${channel}`);
    }
    if (replies === null) throw new TransportError(`publishing to ${channel} got no replies`);
    return prepared.map(({ id }, i) => {
      const [error, receivers] = replies[i] ?? [new Error('no reply'), 0];
      if (error !== null) {
        // Earlier messages of the batch may have been published; say which one failed.
        throw wrap(error, `publishing message ${i} (${id}) of ${prepared.length} to ${channel}`);
      }
      return { id, receivers: Number(receivers) };
    });
  }

  /**
   * Where to send a publish. Sharded: the shared client (a Cluster client routes SPUBLISH to the
   * slot's owner). Classic on a Cluster: the node owning the channel's slot, where relaybus
   * subscribers listen, so the reply counts them and one subject's messages leave from one node
   * (another connected primary while that one is down).
   */
  async #target(channel: string): Promise<Redis | Cluster> {
    const now = this.#targetNow(channel);
    if (now !== undefined) return now;
    const client = this.#context.client() as Cluster;
    await client.ping();
    return ownerNode(client, this.#context.names.slot(channel)) ?? client;
  }

  /** `#target` without waiting, or `undefined` when a Cluster client must connect first. */
  #targetNow(channel: string): Redis | Cluster | undefined {
    const client = this.#context.client();
    if (this.#context.mode === 'sharded' || !(client instanceof Cluster)) return client;
    const node = ownerNode(client, this.#context.names.slot(channel));
    if (node === undefined && client.status !== 'ready') return undefined;
    return node ?? client;
  }
}

/**
 * The node owning `slot`, if connected; else (classic messages reach every node) the connected
 * primary a classic subscription falls back to as well (`fallbackOrder`), so a classic publish
 * does not wait for a node that is down.
 */
function ownerNode(cluster: Cluster, slot: number): Redis | undefined {
  const owner = cluster.slots[slot]?.[0];
  if (owner === undefined) return undefined;
  const byKey = new Map(
    cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]),
  );
  const ownerClient = byKey.get(owner);
  if (ownerClient?.status === 'ready') return ownerClient;
  const order = fallbackOrder([...byKey.keys()], owner).map((key) => byKey.get(key) as Redis);
  // Prefer a connected node; a node never used yet ('wait') connects on its first command.
  return (
    order.find((node) => node.status === 'ready') ??
    order.find((node) => node.status === 'wait') ??
    ownerClient
  );
}
