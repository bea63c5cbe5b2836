import {
  ConfigError,
  checkInteger,
  checkOneOf,
  defaultLogger,
  describeValue,
  type Logger,
  rejectUnknownOptions,
} from '@relaybus/core';
import { type RedisConnectionOptions, RedisConnector, resolveRedisOptions } from '@relaybus/redis';

/**
 * How consumers take messages from a queue.
 * - `reliable`: BLMOVE into a per-consumer processing list; settled by ack/nack; a crashed
 *   consumer's messages come back through the reaper (at-least-once).
 * - `simple`: BRPOP; a message leaves Redis when fetched (at-most-once, no acknowledgement).
 */
export type ListsMode = 'reliable' | 'simple';

/** Options of `RedisListsTransport`. */
export interface RedisListsOptions {
  /** How to reach Redis/Valkey, or an existing `RedisConnector` (not closed by the transport). */
  readonly connection?: RedisConnectionOptions | RedisConnector;
  /** Where the transport logs (default: core's `defaultLogger()`). */
  readonly logger?: Logger;
  /** `reliable` (default) or `simple`; see `ListsMode`. Publishing is the same in both. */
  readonly mode?: ListsMode;
  /** Default prefetch of a subscription: most deliveries held (fetched, unsettled) at once. */
  readonly prefetch?: number;
  /** How long one BLMOVE / BRPOP blocks waiting for a message, in ms. */
  readonly blockMs?: number;
  /**
   * Reliable mode: time to live of a consumer's heartbeat key, in ms. A consumer whose heartbeat
   * expired is presumed dead and its unsettled messages go back to the queue. It is also how long
   * deliveries left unsettled by a closed subscription may still be acked.
   */
  readonly heartbeatTtlMs?: number;
  /** Reliable mode: how often a consumer refreshes its heartbeat, in ms (default: a third of the TTL). */
  readonly heartbeatMs?: number;
  /** Reliable mode: how often a consumer looks for dead consumers to reap, in ms (default: half the TTL). */
  readonly reapIntervalMs?: number;
  /** Default `maxDeliveries` of a subscription (0: unlimited). */
  readonly maxDeliveries?: number;
  /** Longest time between two looks at the delayed set for due messages, in ms. */
  readonly delayedPollMs?: number;
  /** The dead-letter list of each queue keeps at most `maxLen` entries (oldest dropped). */
  readonly deadLetter?: { readonly maxLen?: number };
}

/** Defaults of `RedisListsOptions` (`heartbeatMs` and `reapIntervalMs` follow `heartbeatTtlMs`). */
export const DEFAULT_LISTS_OPTIONS = Object.freeze({
  mode: 'reliable' as ListsMode,
  prefetch: 32,
  blockMs: 5_000,
  heartbeatTtlMs: 30_000,
  maxDeliveries: 0,
  delayedPollMs: 1_000,
  deadLetter: Object.freeze({ maxLen: 10_000 }),
});

/** `RedisListsOptions` validated, with defaults applied. */
export interface ResolvedListsOptions {
  readonly connector: RedisConnector;
  readonly ownsConnector: boolean;
  readonly logger: Logger;
  readonly mode: ListsMode;
  readonly prefetch: number;
  readonly blockMs: number;
  readonly heartbeatTtlMs: number;
  readonly heartbeatMs: number;
  readonly reapIntervalMs: number;
  readonly maxDeliveries: number;
  readonly delayedPollMs: number;
  readonly deadLetterMaxLen: number;
  /**
   * How long after its last heartbeat a dead consumer with an empty processing list stays in the
   * registry: long enough that a BLMOVE it sent while alive has completed (TTL + blockMs + 1 min).
   */
  readonly forgetAfterMs: number;
}

const OPTION_KEYS = [
  'connection',
  'logger',
  'mode',
  'prefetch',
  'blockMs',
  'heartbeatTtlMs',
  'heartbeatMs',
  'reapIntervalMs',
  'maxDeliveries',
  'delayedPollMs',
  'deadLetter',
] as const;

function checkObject(option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(option, `must be an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Validates `options` once and returns them resolved (defaults applied, connector made).
 * Throws `ConfigError` naming the offending option and what it accepts.
 */
export function resolveListsOptions(options: RedisListsOptions): ResolvedListsOptions {
  const input = checkObject('RedisListsTransport', options);
  rejectUnknownOptions('RedisListsTransport', input, OPTION_KEYS);
  const D = DEFAULT_LISTS_OPTIONS;
  const int = (key: string, fallback: number, min: number, max?: number): number =>
    checkInteger(key, input[key] ?? fallback, min, max);

  const mode = checkOneOf('mode', input.mode ?? D.mode, ['reliable', 'simple'] as const);
  const prefetch = int('prefetch', D.prefetch, 1, 100_000);
  const blockMs = int('blockMs', D.blockMs, 10, 600_000);
  const heartbeatTtlMs = int('heartbeatTtlMs', D.heartbeatTtlMs, 100, 86_400_000);
  const heartbeatMs = int('heartbeatMs', Math.floor(heartbeatTtlMs / 3), 10, 86_400_000);
  if (heartbeatMs * 2 > heartbeatTtlMs) {
    throw new ConfigError(
      'heartbeatMs',
      `must be at most half of heartbeatTtlMs (${heartbeatTtlMs}), so one late refresh does not ` +
        `let the heartbeat expire; got ${heartbeatMs}`,
    );
  }
  const reapIntervalMs = int('reapIntervalMs', Math.floor(heartbeatTtlMs / 2), 10, 86_400_000);
  const maxDeliveries = int('maxDeliveries', D.maxDeliveries, 0);
  const delayedPollMs = int('delayedPollMs', D.delayedPollMs, 5, 3_600_000);
  const deadLetter = checkObject('deadLetter', input.deadLetter ?? {});
  rejectUnknownOptions('deadLetter', deadLetter, ['maxLen']);
  const deadLetterMaxLen = checkInteger('deadLetter.maxLen', deadLetter.maxLen ?? D.deadLetter.maxLen, 1);

  const logger = (input.logger as Logger | undefined) ?? defaultLogger();
  if (typeof logger !== 'object' || logger === null || typeof logger.child !== 'function') {
    throw new ConfigError('logger', 'must be a pino-shaped logger (debug, info, warn, error, child)');
  }
  let connector: RedisConnector;
  let ownsConnector: boolean;
  if (input.connection instanceof RedisConnector) {
    connector = input.connection;
    ownsConnector = false;
  } else {
    const resolved = resolveRedisOptions(
      input.connection as RedisConnectionOptions | undefined,
      'connection',
    );
    connector = new RedisConnector(resolved, logger);
    ownsConnector = true;
  }

  return Object.freeze({
    connector,
    ownsConnector,
    logger,
    mode,
    prefetch,
    blockMs,
    heartbeatTtlMs,
    heartbeatMs,
    reapIntervalMs,
    maxDeliveries,
    delayedPollMs,
    deadLetterMaxLen,
    forgetAfterMs: heartbeatTtlMs + blockMs + 60_000,
  });
}
