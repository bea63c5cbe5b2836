import { ConfigError, describeValue } from '@relaybus/core';
import { checkRedisSubject, hashSlot, type KeySpace } from '@relaybus/redis';

/** The one wildcard of a subscription pattern: matches any run of characters, dots included. */
export const WILDCARD = '*';

/** True when `subject` is a pattern (contains `*`). */
export function isPattern(subject: string): boolean {
  return subject.includes(WILDCARD);
}

/** Escapes Redis glob syntax (`\`, `?`, `*`, `[`, `]`) so every character matches itself. */
function escapeGlob(text: string, keepWildcard: boolean): string {
  return text.replace(keepWildcard ? /[\\?[\]]/g : /[\\?*[\]]/g, '\\$&');
}

/**
 * Channel naming. A subject's channel is its Redis key name, `${prefix}{${subject}}` (e.g.
 * `relaybus:{orders}`): the subject is the Cluster hash tag, so a sharded channel lives in the same
 * slot as the subject's keys of the other Redis transports.
 *
 * A subject containing `*` is a pattern (classic mode only): `orders.*` becomes the PSUBSCRIBE
 * pattern `relaybus:{orders.*}`, where `*` matches any run of characters. Every other glob
 * character (`?`, `[`, `]`, `\`), in the subject or the prefix, is escaped and matches itself.
 */
export class ChannelNames {
  readonly #keys: KeySpace;
  readonly #open: string;
  /** The last subject `channel` was asked for, and its channel: a publisher sends to one mostly. */
  #lastSubject: string | undefined;
  #lastChannel = '';

  constructor(keys: KeySpace) {
    this.#keys = keys;
    this.#open = `${keys.prefix}{`;
  }

  /**
   * The channel of a concrete subject. Throws `ConfigError` naming `option` for an invalid subject
   * or one containing `*` (only subscriptions take patterns).
   */
  channel(subject: string, option = 'subject'): string {
    if (typeof subject === 'string' && isPattern(subject)) {
      throw new ConfigError(
        option,
        `must not contain "*" (a pattern): publish to a concrete subject, got ${describeValue(subject)}`,
      );
    }
    if (subject === this.#lastSubject) return this.#lastChannel;
    const channel = this.#keys.stream(subject);
    this.#lastSubject = subject;
    this.#lastChannel = channel;
    return channel;
  }

  /** The PSUBSCRIBE pattern of a subject pattern such as `orders.*`. */
  pattern(subject: string, option = 'subject'): string {
    checkRedisSubject(subject, option);
    return `${escapeGlob(this.#keys.prefix, false)}{${escapeGlob(subject, true)}}`;
  }

  /** The subject a channel belongs to, or `undefined` for a channel not named by this scheme. */
  subjectOf(channel: string): string | undefined {
    if (!channel.startsWith(this.#open) || !channel.endsWith('}')) return undefined;
    const subject = channel.slice(this.#open.length, -1);
    return subject.length > 0 && !subject.includes('{') && !subject.includes('}') ? subject : undefined;
  }

  /** The Cluster hash slot of a channel (or pattern) name. */
  slot(channel: string): number {
    return hashSlot(channel);
  }
}
