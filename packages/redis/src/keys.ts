import { ConfigError, checkSubject, describeValue } from '@relaybus/core';

const PARTITION_SUFFIX = /:p\d+$/;

/**
 * A subject as the Redis transports accept it: core's `checkSubject` (1–200 characters, no
 * whitespace, control characters, `{` or `}`), and not ending in `:p<digits>`, which is reserved
 * for partition keys (`orders:p0` would collide with partition 0 of `orders`).
 * Returns the subject; throws `ConfigError` naming `option`.
 */
export function checkRedisSubject(subject: string, option = 'subject'): string {
  const name = checkSubject(subject, option);
  if (PARTITION_SUFFIX.test(name)) {
    throw new ConfigError(
      option,
      `must not end with ":p<number>" (reserved for partitions), got ${describeValue(name)}`,
    );
  }
  return name;
}

/** Checks a key prefix: any string (may be empty) without `{`, `}`, whitespace or control characters. */
export function checkKeyPrefix(prefix: unknown, option = 'keyPrefix'): string {
  if (typeof prefix !== 'string')
    throw new ConfigError(option, `must be a string, got ${describeValue(prefix)}`);
  if (prefix.length > 100) throw new ConfigError(option, 'must be at most 100 characters');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\s{}\u0000-\u001f\u007f]/.test(prefix)) {
    throw new ConfigError(
      option,
      `must not contain whitespace, control characters, "{" or "}", got ${describeValue(prefix)}`,
    );
  }
  return prefix;
}

/**
 * Key naming for the Redis transports. Every key of one subject carries the subject as its Cluster
 * hash tag, so all of them live in one slot (MULTI, Lua and LMOVE across them work in Cluster
 * mode); partitions get their own tag so they spread over the cluster.
 *
 * The prefix is applied here, explicitly: never also set iovalkey's `keyPrefix`.
 */
export class KeySpace {
  /** The prefix every key starts with, e.g. `relaybus:`. */
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = checkKeyPrefix(prefix);
  }

  /** The main key of `subject`: `${prefix}{${subject}}` (e.g. `relaybus:{orders}`). */
  stream(subject: string): string {
    return `${this.prefix}{${checkRedisSubject(subject)}}`;
  }

  /**
   * A side key of `subject` in the same slot: `${prefix}{${subject}}:${suffix}`
   * (e.g. `relaybus:{orders}:dlq`). `suffix` must be non-empty, without whitespace or braces.
   */
  side(subject: string, suffix: string): string {
    if (typeof suffix !== 'string' || suffix.length === 0 || /[\s{}]/.test(suffix)) {
      throw new ConfigError(
        'suffix',
        `must be a non-empty string without whitespace, "{" or "}", got ${describeValue(suffix)}`,
      );
    }
    return `${this.stream(subject)}:${suffix}`;
  }

  /** The key of partition `index` of `subject`: `${prefix}{${subject}:p${index}}` (its own slot). */
  partition(subject: string, index: number): string {
    if (!Number.isInteger(index) || index < 0) {
      throw new ConfigError('partition', `must be an integer >= 0, got ${describeValue(index)}`);
    }
    return `${this.prefix}{${checkRedisSubject(subject)}:p${index}}`;
  }
}
