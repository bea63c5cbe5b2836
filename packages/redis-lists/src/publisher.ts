import { randomBytes } from 'node:crypto';
import {
  ConfigError,
  checkHeaders,
  checkNumber,
  Header,
  type Headers,
  newMessageId,
  type OutgoingMessage,
  type Publisher,
  type PublishResult,
} from '@relaybus/core';
import { type RedisClient, runScript } from '@relaybus/redis';
import { encodeEntry } from './entry.js';
import type { ListKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';

/** Length of the nonce in front of every member of the delayed set (hex characters). */
export const NONCE_LENGTH = 16;

/** A fresh nonce for a delayed-set member, so two equal entries never collapse into one member. */
export function newNonce(): string {
  return randomBytes(NONCE_LENGTH / 2).toString('hex');
}

/** What the publisher needs from its transport. */
export interface PublisherContext {
  /** The shared command client; throws `ClosedError` once the transport is closed. */
  client(): RedisClient;
  /** The keys of `subject` (validates it). */
  keys(subject: string): ListKeys;
  /** Told after a delayed publish, so local subscriptions look at the delayed set in time. */
  scheduled(subject: string, delayMs: number): void;
}

interface Prepared {
  readonly id: string;
  readonly entry: Buffer;
  readonly delayMs: number;
}

function prepare(message: OutgoingMessage, index?: number): Prepared {
  const where = index === undefined ? 'message' : `messages[${index}]`;
  if (message === null || typeof message !== 'object' || !(message.payload instanceof Uint8Array)) {
    throw new ConfigError(`${where}.payload`, 'must be a Uint8Array');
  }
  const id = message.id ?? newMessageId();
  if (typeof id !== 'string' || id.length === 0) {
    throw new ConfigError(`${where}.id`, 'must be a non-empty string');
  }
  const delayMs = Math.floor(checkNumber(`${where}.delayMs`, message.delayMs ?? 0, 0));
  const headers: Headers = { ...checkHeaders(message.headers, `${where}.headers`) };
  if (message.key !== undefined) headers[Header.partitionKey] = message.key;
  return { id, delayMs, entry: encodeEntry({ id, headers, payload: message.payload, deliveriesBefore: 0 }) };
}

/**
 * Publishes to a queue: LPUSH onto its far end (consumers take from the other end, so the queue is
 * FIFO), or, with `delayMs`, into its delayed set, promoted to the queue once due. The entry is a
 * copy: the caller may reuse its buffers once the promise resolved.
 */
export class ListsPublisher implements Publisher {
  readonly #context: PublisherContext;

  constructor(context: PublisherContext) {
    this.#context = context;
  }

  /** Resolves with the id once Redis replied to the LPUSH (or ZADD): the message is stored. */
  async publish(subject: string, message: OutgoingMessage): Promise<PublishResult> {
    const keys = this.#context.keys(subject);
    const prepared = prepare(message);
    const client = this.#context.client();
    if (prepared.delayMs > 0) {
      await this.#schedule(client, subject, keys, [prepared]);
    } else {
      await client.lpush(keys.queue, prepared.entry);
    }
    return { id: prepared.id };
  }

  /**
   * Publishes every message in one round trip per kind: one LPUSH with all immediate messages (so
   * they keep their order and land together) and one script call for all delayed ones.
   */
  async publishMany(subject: string, messages: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    const keys = this.#context.keys(subject);
    if (!Array.isArray(messages)) throw new ConfigError('messages', 'must be an array');
    const prepared = messages.map((message, index) => prepare(message, index));
    if (prepared.length === 0) return [];
    const client = this.#context.client();
    const now = prepared.filter((item) => item.delayMs === 0);
    const later = prepared.filter((item) => item.delayMs > 0);
    await Promise.all([
      now.length > 0 ? client.lpush(keys.queue, ...now.map((item) => item.entry)) : undefined,
      later.length > 0 ? this.#schedule(client, subject, keys, later) : undefined,
    ]);
    return prepared.map((item) => ({ id: item.id }));
  }

  async #schedule(client: RedisClient, subject: string, keys: ListKeys, items: Prepared[]): Promise<void> {
    const args: Array<string | Buffer | number> = [];
    for (const item of items) {
      args.push(item.delayMs, Buffer.concat([Buffer.from(newNonce(), 'latin1'), item.entry]));
    }
    await runScript(client, SCRIPTS.schedule, [keys.delayed], args);
    this.#context.scheduled(subject, Math.min(...items.map((item) => item.delayMs)));
  }
}
