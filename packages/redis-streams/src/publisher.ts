import { randomBytes } from 'node:crypto';
import {
  checkNumber,
  newMessageId,
  type OutgoingMessage,
  type Publisher,
  type PublishResult,
  RelaybusError,
  TransportError,
} from '@relaybus/core';
import { CommandCoalescer, checkRedisSubject, type RedisClient, runScript } from '@relaybus/redis';
import { type EntryFields, encodeEntry } from './fields.js';
import { type StreamKeys, trimArgs } from './keys.js';
import type { ResolvedSubjectOptions } from './options.js';
import { partitionFor } from './partition.js';
import { Scripts } from './scripts.js';

/** What the publisher needs from its transport. */
export interface PublisherContext {
  /** The shared publishing client (throws `ClosedError` once the transport is closed). */
  client(): RedisClient;
  settings(subject: string): ResolvedSubjectOptions;
  streams(subject: string): StreamKeys[];
}

interface Prepared {
  readonly id: string;
  readonly keys: StreamKeys;
  readonly fields: EntryFields;
  readonly delayMs: number;
}

/**
 * Publishes with XADD (delayed messages: into the stream's delayed set, through `schedule.lua`).
 * Every promise resolves only after Redis replied, so a resolved publish is stored by the server.
 */
export class StreamsPublisher implements Publisher {
  #roundRobin = 0;

  constructor(readonly context: PublisherContext) {}

  /** Single XADDs of one tick go out as one pipeline per stream. */
  readonly #adds = new CommandCoalescer('xadd');

  /**
   * Publishes one message. Immediate publishes made in the same tick of the event loop are sent
   * together as one pipeline per stream (one socket write instead of one per message); each
   * promise still resolves only once Redis answered its own XADD.
   */
  publish(subject: string, message: OutgoingMessage): Promise<PublishResult> {
    if ((message?.delayMs ?? 0) !== 0) {
      return this.publishMany(subject, [message]).then((results) => results[0] as PublishResult);
    }
    let sent: Promise<unknown>;
    let id: string;
    try {
      checkRedisSubject(subject);
      const settings = this.context.settings(subject);
      const streams = this.context.streams(subject);
      const now = Date.now();
      const item = this.#prepare(message, streams, now);
      id = item.id;
      const stream = item.keys.stream;
      const args = [stream, ...trimTokens(trimArgs(settings, now)), '*', ...item.fields];
      sent = this.#adds.send(this.context.client(), stream, args);
    } catch (error) {
      return Promise.reject(error);
    }
    return sent.then(
      () => ({ id }),
      (error: unknown) => {
        throw publishError(subject, error);
      },
    );
  }

  async publishMany(subject: string, messages: readonly OutgoingMessage[]): Promise<PublishResult[]> {
    checkRedisSubject(subject);
    if (!Array.isArray(messages)) throw new TypeError('messages must be an array');
    if (messages.length === 0) return [];
    const settings = this.context.settings(subject);
    const streams = this.context.streams(subject);
    const now = Date.now();
    const prepared = messages.map((message) => this.#prepare(message, streams, now));
    const client = this.context.client();
    const trim = trimArgs(settings, now);
    try {
      if (!client.isCluster || streams.length === 1) {
        await this.#send(client, prepared, trim);
      } else {
        // A Cluster pipeline must stay within one slot: one per partition, all at once.
        const byStream = new Map<string, Prepared[]>();
        for (const item of prepared) {
          const list = byStream.get(item.keys.stream);
          if (list === undefined) byStream.set(item.keys.stream, [item]);
          else list.push(item);
        }
        await Promise.all([...byStream.values()].map((items) => this.#send(client, items, trim)));
      }
    } catch (error) {
      throw publishError(subject, error);
    }
    return prepared.map((item) => ({ id: item.id }));
  }

  /** Id, partition and XADD fields of one message (throws `ConfigError` for a malformed one). */
  #prepare(message: OutgoingMessage, streams: readonly StreamKeys[], now: number): Prepared {
    const id = message?.id ?? newMessageId();
    const delayMs = Math.floor(checkNumber('message.delayMs', message?.delayMs ?? 0, 0));
    const partition = partitionFor(message?.key, streams.length, () => this.#roundRobin++);
    return { id, keys: streams[partition] as StreamKeys, fields: encodeEntry(message, id, now), delayMs };
  }

  async #send(client: RedisClient, items: readonly Prepared[], trim: string[]): Promise<void> {
    const immediate = items.filter((item) => item.delayMs === 0);
    const delayed = items.filter((item) => item.delayMs > 0);
    const work: Promise<unknown>[] = delayed.map((item) =>
      runScript(
        client,
        Scripts.schedule,
        [item.keys.delayed],
        [item.delayMs, randomBytes(8).toString('hex'), ...item.fields],
      ),
    );
    if (immediate.length === 1) {
      const item = immediate[0] as Prepared;
      work.push(client.xadd(item.keys.stream, ...trimTokens(trim), '*', ...item.fields));
    } else if (immediate.length > 1) {
      const pipeline = client.pipeline();
      for (const item of immediate) pipeline.xadd(item.keys.stream, ...trimTokens(trim), '*', ...item.fields);
      work.push(
        pipeline.exec().then((replies) => {
          for (const [error] of replies ?? []) if (error) throw error;
        }),
      );
    }
    await Promise.all(work);
  }
}

function publishError(subject: string, error: unknown): Error {
  if (error instanceof RelaybusError) return error;
  return new TransportError(`publish to "${subject}" failed: ${errorText(error)}`, { cause: error });
}

function trimTokens(trim: string[]): string[] {
  return trim.length === 0 ? [] : [trim[0] as string, '~', trim[1] as string];
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
