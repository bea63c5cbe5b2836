import {
  type Codec,
  ConfigError,
  checkInteger,
  checkSubject,
  defaultLogger,
  describeValue,
  type Logger,
  msgpackCodec,
  rejectUnknownOptions,
  type StandardSchemaV1,
} from '@relaybus/core';
import { KeySpace, type RedisConnectionOptions, RedisConnector, resolveRedisOptions } from '@relaybus/redis';

/** Options of `createCache`. */
export interface CacheOptions<T> {
  /**
   * How to reach Redis/Valkey (standalone, Cluster, Sentinel, TLS, ACL user, credentials
   * provider, key prefix), or an existing `RedisConnector`, which `close()` leaves open.
   * Default: `redis://127.0.0.1:6379`.
   */
  readonly redis?: RedisConnectionOptions | RedisConnector;
  /** The cache's name, part of every key: 1–200 characters, no whitespace, `{` or `}`. */
  readonly name: string;
  /** Turns values into bytes and back (default: core's `msgpackCodec`). */
  readonly codec?: Codec<T> | Codec;
  /**
   * A Standard Schema (zod, valibot, arktype, …) every value read is checked against; a stored
   * value it refuses makes the read reject with `CacheSchemaError`. Writes are not checked.
   */
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** Prefix of this cache's keys (default: the connection's `keyPrefix`, itself `relaybus:`). */
  readonly prefix?: string;
  /** Time to live of values written without a `ttlMs` of their own, in ms (default: none). */
  readonly ttlMs?: number;
  /** `getOrSet`'s default producer lock time to live, in ms (default 10 000). */
  readonly lockTtlMs?: number;
  /** Where the cache logs (default: core's `defaultLogger()`). */
  readonly logger?: Logger;
}

/** Defaults of `CacheOptions`. */
export const DEFAULT_CACHE_OPTIONS = Object.freeze({
  lockTtlMs: 10_000,
});

/** Longest time to live accepted, in ms (about 10 years). */
export const MAX_TTL_MS = 315_360_000_000;

/** `CacheOptions` validated, with defaults applied. */
export interface ResolvedCacheOptions<T> {
  readonly connector: RedisConnector;
  readonly ownsConnector: boolean;
  readonly name: string;
  readonly codec: Codec<T>;
  readonly schema: StandardSchemaV1<unknown, T> | undefined;
  readonly prefix: string;
  readonly ttlMs: number | undefined;
  readonly lockTtlMs: number;
  readonly logger: Logger;
}

const OPTION_KEYS = ['redis', 'name', 'codec', 'schema', 'prefix', 'ttlMs', 'lockTtlMs', 'logger'] as const;

/** Checks a time to live in ms: an integer from 1 to `MAX_TTL_MS`. */
export function checkTtl(option: string, value: unknown): number {
  return checkInteger(option, value, 1, MAX_TTL_MS);
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard'];
  return props !== undefined && props.version === 1 && typeof props.validate === 'function';
}

function checkCodec<T>(value: unknown): Codec<T> {
  const codec = value as Partial<Codec> | null;
  if (
    codec === null ||
    typeof codec !== 'object' ||
    typeof codec.encode !== 'function' ||
    typeof codec.decode !== 'function'
  ) {
    throw new ConfigError('codec', `must be a Codec with encode() and decode(), got ${describeValue(value)}`);
  }
  return codec as Codec<T>;
}

function checkPrefix(value: unknown): string {
  try {
    return new KeySpace(value as string).prefix;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError('prefix', error.message.replace(/^Invalid option "[^"]*": /, ''));
    }
    throw error;
  }
}

/**
 * Validates `options` once and returns them resolved (defaults applied, connector made).
 * Throws `ConfigError` naming the offending option and what it accepts.
 */
export function resolveCacheOptions<T>(options: CacheOptions<T>): ResolvedCacheOptions<T> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('createCache', `options must be an object, got ${describeValue(options)}`);
  }
  rejectUnknownOptions('createCache', options, OPTION_KEYS);
  const name = checkSubject(options.name, 'name');
  const codec = checkCodec<T>(options.codec ?? msgpackCodec);
  if (options.schema !== undefined && !isStandardSchema(options.schema)) {
    throw new ConfigError('schema', 'must be a Standard Schema (zod, valibot, arktype, …)');
  }
  const ttlMs = options.ttlMs === undefined ? undefined : checkTtl('ttlMs', options.ttlMs);
  const lockTtlMs = checkTtl('lockTtlMs', options.lockTtlMs ?? DEFAULT_CACHE_OPTIONS.lockTtlMs);
  const logger = options.logger ?? defaultLogger();
  if (logger === null || typeof logger !== 'object' || typeof logger.child !== 'function') {
    throw new ConfigError('logger', 'must be a pino(-shaped) logger with debug, info, warn, error and child');
  }
  const prefixOverride = options.prefix === undefined ? undefined : checkPrefix(options.prefix);
  let connector: RedisConnector;
  let ownsConnector: boolean;
  if (options.redis instanceof RedisConnector) {
    connector = options.redis;
    ownsConnector = false;
  } else {
    const resolved = resolveRedisOptions(options.redis, 'redis');
    connector = new RedisConnector(resolved, logger);
    ownsConnector = true;
  }
  const prefix = prefixOverride ?? connector.keys.prefix;
  return Object.freeze({
    connector,
    ownsConnector,
    name,
    codec,
    schema: options.schema,
    prefix,
    ttlMs,
    lockTtlMs,
    logger: logger.child({ component: 'cache', cache: name }),
  });
}
