import { ConfigError, describeValue } from '@relaybus/core';
import type { KeySpace } from '@relaybus/redis';

/**
 * The keys of one queue. All carry the subject as their Cluster hash tag, so they share one slot
 * (BLMOVE, MULTI and Lua across them work in Cluster) while different queues spread over nodes.
 */
export interface ListKeys {
  /** The queue: `relaybus:{jobs}`. Publishers push on the left, consumers take from the right. */
  readonly queue: string;
  /** Consumers of the queue, a sorted set (member: consumer name; score: when it may be forgotten). */
  readonly consumers: string;
  /** Delayed messages, a sorted set (member: nonce + entry; score: due time in ms). */
  readonly delayed: string;
  /** Dead letters, a list, newest on the left. */
  readonly deadLetters: string;
  /** Held (SET NX PX) by the consumer running the reaper. */
  readonly reaperLock: string;
  /** The processing list of `consumer`: what it fetched and has not settled, newest on the left. */
  processing(consumer: string): string;
  /** The heartbeat of `consumer`, a string with a time to live. */
  heartbeat(consumer: string): string;
}

/** The keys of `subject`'s queue in `keys`' key space (throws `ConfigError` for a bad subject). */
export function listKeys(keys: KeySpace, subject: string): ListKeys {
  const queue = keys.stream(subject);
  return {
    queue,
    consumers: `${queue}:consumers`,
    delayed: `${queue}:delayed`,
    deadLetters: `${queue}:dlq`,
    reaperLock: `${queue}:reaper`,
    processing: (consumer) => `${queue}:processing:${consumer}`,
    heartbeat: (consumer) => `${queue}:heartbeat:${consumer}`,
  };
}

/**
 * A consumer name usable in key names: 1–128 characters without whitespace, control characters,
 * `{` or `}`. Throws `ConfigError` naming `consumer`.
 */
export function checkConsumerName(value: unknown): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (typeof value !== 'string' || !/^[^\s{}\u0000-\u001f\u007f]{1,128}$/.test(value)) {
    throw new ConfigError(
      'consumer',
      `must be 1–128 characters without whitespace, control characters, "{" or "}", got ${describeValue(value)}`,
    );
  }
  return value;
}
