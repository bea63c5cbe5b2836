import {
  ConfigError,
  checkInteger,
  checkOneOf,
  defaultLogger,
  describeValue,
  type Logger,
  rejectUnknownOptions,
} from '@relaybus/core';
import {
  type RedisConnectionOptions,
  RedisConnector,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from '@relaybus/redis';

/** Which Redis Pub/Sub flavour a transport uses. */
export type PubSubMode = 'classic' | 'sharded';

/** What a full subscription buffer does with one more message. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest';

/** Options of `RedisPubSubTransport`. */
export interface RedisPubSubOptions {
  /** How to reach Redis/Valkey, or an existing `RedisConnector` (not closed by the transport). */
  readonly connection?: RedisConnectionOptions | RedisConnector;
  /**
   * `classic` (default): PUBLISH / SUBSCRIBE / PSUBSCRIBE; on a Cluster every message is broadcast
   * to every node. `sharded`: SPUBLISH / SSUBSCRIBE (Redis 7+, Valkey 7+); on a Cluster a subject
   * lives on the shard owning its slot. Patterns need `classic`.
   */
  readonly mode?: PubSubMode;
  /** Most messages a subscription holds while the application has not pulled them (default 10 000). */
  readonly bufferSize?: number;
  /** What a full buffer does with a new message: `drop-oldest` (default) or `drop-newest`. */
  readonly overflow?: OverflowPolicy;
  /**
   * Content type given to a message published without the relaybus envelope (a plain PUBLISH from
   * another client), so a Broker knows how to decode it. Default `application/octet-stream` (the
   * Broker hands the bytes to the handler as a `Uint8Array`); `null` leaves the header out (the
   * Broker then uses its fallback codec, msgpack).
   */
  readonly rawContentType?: string | null;
  /**
   * Cluster only: how often, in ms, the transport re-reads the slot map so sharded subscriptions
   * follow a slot that moved to another node without telling them (default 5 000; 0: only when a
   * subscription is told or loses its connection).
   */
  readonly topologyRefreshMs?: number;
  /** Shortest interval, in ms, between two warnings about dropped or unrequeueable messages (default 10 000). */
  readonly warnIntervalMs?: number;
  /** Where the transport logs (default: core's `defaultLogger()`). */
  readonly logger?: Logger;
}

/** Defaults of `RedisPubSubOptions`. */
export const DEFAULT_PUBSUB_OPTIONS = Object.freeze({
  mode: 'classic' as PubSubMode,
  bufferSize: 10_000,
  overflow: 'drop-oldest' as OverflowPolicy,
  rawContentType: 'application/octet-stream' as string | null,
  topologyRefreshMs: 5_000,
  warnIntervalMs: 10_000,
});

/** Largest `bufferSize`. */
export const MAX_BUFFER_SIZE = 10_000_000;

/** `RedisPubSubOptions` validated, with defaults applied. */
export interface ResolvedPubSubOptions {
  readonly connector: RedisConnector;
  readonly ownsConnector: boolean;
  /** The connection settings every subscription's own connection is made from. */
  readonly redis: ResolvedRedisOptions;
  readonly mode: PubSubMode;
  readonly bufferSize: number;
  readonly overflow: OverflowPolicy;
  readonly rawContentType: string | null;
  readonly topologyRefreshMs: number;
  readonly warnIntervalMs: number;
  readonly logger: Logger;
}

const OPTION_KEYS = [
  'connection',
  'mode',
  'bufferSize',
  'overflow',
  'rawContentType',
  'topologyRefreshMs',
  'warnIntervalMs',
  'logger',
] as const;

/** The modes, for messages and validation. */
export const PUBSUB_MODES: readonly PubSubMode[] = ['classic', 'sharded'];
/** The overflow policies, for messages and validation. */
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['drop-oldest', 'drop-newest'];

/** Checks a buffer size option. */
export function checkBufferSize(option: string, value: unknown): number {
  return checkInteger(option, value, 1, MAX_BUFFER_SIZE);
}

/** Checks an overflow policy option. */
export function checkOverflow(option: string, value: unknown): OverflowPolicy {
  return checkOneOf(option, value, OVERFLOW_POLICIES);
}

function checkRawContentType(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new ConfigError(
      'rawContentType',
      `must be a non-empty content type (at most 200 characters) or null, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Validates `options` once and returns them resolved (defaults applied, connector made).
 * Throws `ConfigError` naming the offending option and what it accepts.
 */
export function resolvePubSubOptions(options: RedisPubSubOptions = {}): ResolvedPubSubOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('RedisPubSubTransport', `options must be an object, got ${describeValue(options)}`);
  }
  rejectUnknownOptions('RedisPubSubTransport', options, OPTION_KEYS);
  const D = DEFAULT_PUBSUB_OPTIONS;
  const mode = checkOneOf('mode', options.mode ?? D.mode, PUBSUB_MODES);
  const bufferSize = checkBufferSize('bufferSize', options.bufferSize ?? D.bufferSize);
  const overflow = checkOverflow('overflow', options.overflow ?? D.overflow);
  const rawContentType = checkRawContentType(
    options.rawContentType === undefined ? D.rawContentType : options.rawContentType,
  );
  const topologyRefreshMs = checkInteger(
    'topologyRefreshMs',
    options.topologyRefreshMs ?? D.topologyRefreshMs,
    0,
    3_600_000,
  );
  if (topologyRefreshMs > 0 && topologyRefreshMs < 100) {
    throw new ConfigError('topologyRefreshMs', `must be 0 (off) or at least 100, got ${topologyRefreshMs}`);
  }
  const warnIntervalMs = checkInteger('warnIntervalMs', options.warnIntervalMs ?? D.warnIntervalMs, 0);
  const logger = options.logger ?? defaultLogger();
  if (logger === null || typeof logger !== 'object' || typeof logger.child !== 'function') {
    throw new ConfigError('logger', 'must be a pino(-shaped) logger with debug, info, warn, error and child');
  }
  let connector: RedisConnector;
  let ownsConnector: boolean;
  if (options.connection instanceof RedisConnector) {
    connector = options.connection;
    ownsConnector = false;
  } else {
    connector = new RedisConnector(resolveRedisOptions(options.connection, 'connection'), logger);
    ownsConnector = true;
  }
  return Object.freeze({
    connector,
    ownsConnector,
    redis: connector.options,
    mode,
    bufferSize,
    overflow,
    rawContentType,
    topologyRefreshMs,
    warnIntervalMs,
    logger,
  });
}
