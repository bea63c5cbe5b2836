import { ConfigError, describeValue } from '@relaybus/core';

/** Longest key `createCache` accepts, in characters. */
export const MAX_KEY_LENGTH = 1_000;

/** The Redis names behind one cache key. */
export interface CacheKeyNames {
  /** Holds the encoded value: `${prefix}cache:{${name}:${key}}`. */
  readonly value: string;
  /** getOrSet's producer lock: `${value}:lock`. */
  readonly lock: string;
  /** Where writes of the key are announced: `${value}:set`. */
  readonly channel: string;
}

/** Checks a cache key: a non-empty string of at most 1 000 characters. */
export function checkKey(key: unknown, option = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new ConfigError(option, `must be a non-empty string, got ${describeValue(key)}`);
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new ConfigError(option, `must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}`);
  }
  return key;
}

/**
 * The names of `key` in cache `name`. The hash tag `{name:key}` puts each key (with its lock and
 * channel) in a slot of its own, so a cache spreads over every Cluster node while the scripts,
 * which touch a key and its lock, stay in one slot. A key containing `}` ends the tag early, but
 * inside the part every name of that key shares, so they still share a slot.
 */
export function cacheKeyNames(prefix: string, name: string, key: string): CacheKeyNames {
  const value = `${prefix}cache:{${name}:${key}}`;
  return { value, lock: `${value}:lock`, channel: `${value}:set` };
}
