import { DecodeError } from '@relaybus/core';

/**
 * A stored value that the cache's schema refuses (after the codec decoded it). Its `code` is
 * core's `RELAYBUS_DECODE_FAILED`, as for bytes the codec cannot read: either way the stored data
 * is not a `T`. `key` names the cache key, `reason` lists the schema's issues.
 */
export class CacheSchemaError extends DecodeError {
  /** The cache key whose value was refused. */
  readonly key: string;
  /** The schema's issues, as `path: message; …`. */
  readonly reason: string;

  constructor(cache: string, key: string, reason: string) {
    super(`cache "${cache}": the value of "${key}" does not match the schema: ${reason}`);
    this.key = key;
    this.reason = reason;
  }
}
