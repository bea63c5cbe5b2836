import {
  ConfigError,
  checkInteger,
  checkSubject,
  defaultLogger,
  describeValue,
  type Logger,
  rejectUnknownOptions,
} from '@relaybus/core';
import { type RedisConnectionOptions, RedisConnector, resolveRedisOptions } from '@relaybus/redis';

/** Retention of one subject's stream(s): approximate trimming (`MAXLEN ~` / `MINID ~`). */
export interface RetentionOptions {
  /** Keep about this many entries per stream (`MAXLEN ~`). Unset: no count limit. */
  readonly maxLen?: number;
  /** Keep entries about this long, in ms (`MINID ~ <now - maxAgeMs>`). Unset: no age limit. */
  readonly maxAgeMs?: number;
  /**
   * Never trim an entry that some consumer group has not yet read and acknowledged. Trimming then
   * happens only in the janitor (which checks every group), not on publish. Default false.
   */
  readonly safe?: boolean;
}

/** Per-subject settings. */
export interface StreamSubjectOptions extends RetentionOptions {
  /**
   * Number of partition streams (`{subject:p0}` … each in its own Cluster slot), chosen by hashing
   * the message key. 1 (default) keeps one stream `{subject}`.
   */
  readonly partitions?: number;
  /**
   * Ordered mode: each partition is consumed by one consumer of a group at a time, under a lease,
   * so a group sees the messages of one key in publish order.
   */
  readonly ordered?: boolean;
}

/** Options of `RedisStreamsTransport`. */
export interface RedisStreamsOptions {
  /** How to reach Redis/Valkey, or an existing `RedisConnector` (not closed by the transport). */
  readonly connection?: RedisConnectionOptions | RedisConnector;
  /** Where the transport logs (default: core's `defaultLogger()`). */
  readonly logger?: Logger;
  /** Default prefetch of a subscription: most deliveries held (fetched, unsettled) at once. */
  readonly prefetch?: number;
  /** How long one XREADGROUP blocks waiting for entries, in ms. */
  readonly blockMs?: number;
  /** How long an entry must sit unacknowledged with its consumer before another one reclaims it. */
  readonly minIdleMs?: number;
  /** How often a subscription looks for idle entries to reclaim (default: min(5 000, minIdleMs / 2)). */
  readonly reclaimIntervalMs?: number;
  /** Default `maxDeliveries` of a subscription (0 = unlimited). */
  readonly maxDeliveries?: number;
  /** XACK coalescing: flush when `maxSize` acks are waiting, or after `maxDelayMs` (0: next tick). */
  readonly ackBatch?: { readonly maxSize?: number; readonly maxDelayMs?: number };
  /** How often subscribers look for due delayed messages, in ms. */
  readonly delayedPollMs?: number;
  /** Dead-letter stream retention (per stream). */
  readonly deadLetter?: { readonly maxLen?: number };
  /** Defaults for every subject (retention, partitions, ordered); `subjects` overrides per subject. */
  readonly defaults?: StreamSubjectOptions;
  /** Settings of individual subjects. */
  readonly subjects?: Readonly<Record<string, StreamSubjectOptions>>;
  /** How often the retention janitor runs while a subscription is open, in ms (0: never). */
  readonly janitorIntervalMs?: number;
  /** Consumers idle this long with no pending entries are deleted from their group (0: never). */
  readonly idleConsumerMs?: number;
  /** Ordered mode: time to live of a partition lease, in ms (renewed every third of it). */
  readonly leaseMs?: number;
}

/** Defaults of `RedisStreamsOptions`. */
export const DEFAULT_STREAMS_OPTIONS = Object.freeze({
  prefetch: 64,
  blockMs: 5_000,
  minIdleMs: 30_000,
  /** Upper bound of the default reclaim interval (which is also at most minIdleMs / 2). */
  reclaimIntervalMs: 5_000,
  maxDeliveries: 0,
  ackBatch: Object.freeze({ maxSize: 1_000, maxDelayMs: 0 }),
  delayedPollMs: 1_000,
  deadLetter: Object.freeze({ maxLen: 10_000 }),
  janitorIntervalMs: 60_000,
  idleConsumerMs: 3_600_000,
  leaseMs: 10_000,
  partitions: 1,
  ordered: false,
});

/** Resolved settings of one subject. */
export interface ResolvedSubjectOptions {
  readonly partitions: number;
  readonly ordered: boolean;
  readonly maxLen: number | undefined;
  readonly maxAgeMs: number | undefined;
  readonly safe: boolean;
}

/** `RedisStreamsOptions` validated, with defaults applied. */
export interface ResolvedStreamsOptions {
  readonly connector: RedisConnector;
  readonly ownsConnector: boolean;
  readonly logger: Logger;
  readonly prefetch: number;
  readonly blockMs: number;
  readonly minIdleMs: number;
  readonly reclaimIntervalMs: number;
  readonly keepAliveIntervalMs: number;
  readonly maxDeliveries: number;
  readonly ackBatchSize: number;
  readonly ackDelayMs: number;
  readonly delayedPollMs: number;
  readonly deadLetterMaxLen: number;
  readonly janitorIntervalMs: number;
  readonly idleConsumerMs: number;
  readonly leaseMs: number;
  readonly defaults: ResolvedSubjectOptions;
  readonly subjects: ReadonlyMap<string, ResolvedSubjectOptions>;
}

const OPTION_KEYS = [
  'connection',
  'logger',
  'prefetch',
  'blockMs',
  'minIdleMs',
  'reclaimIntervalMs',
  'maxDeliveries',
  'ackBatch',
  'delayedPollMs',
  'deadLetter',
  'defaults',
  'subjects',
  'janitorIntervalMs',
  'idleConsumerMs',
  'leaseMs',
] as const;
const SUBJECT_KEYS = ['partitions', 'ordered', 'maxLen', 'maxAgeMs', 'safe'] as const;
/** Largest partition count: more streams than this per subject is a design mistake, not a setting. */
export const MAX_PARTITIONS = 1_024;

function checkObject(option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(option, `must be an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new ConfigError(option, `must be a boolean, got ${describeValue(value)}`);
  return value;
}

function resolveSubject(
  option: string,
  input: unknown,
  base: ResolvedSubjectOptions,
): ResolvedSubjectOptions {
  const object = checkObject(option, input);
  rejectUnknownOptions(option, object, SUBJECT_KEYS);
  const optional = (key: string, min: number): number | undefined =>
    object[key] === undefined ? undefined : checkInteger(`${option}.${key}`, object[key], min);
  return {
    partitions:
      object.partitions === undefined
        ? base.partitions
        : checkInteger(`${option}.partitions`, object.partitions, 1, MAX_PARTITIONS),
    ordered: object.ordered === undefined ? base.ordered : checkBoolean(`${option}.ordered`, object.ordered),
    maxLen: object.maxLen === undefined ? base.maxLen : optional('maxLen', 1),
    maxAgeMs: object.maxAgeMs === undefined ? base.maxAgeMs : optional('maxAgeMs', 1),
    safe: object.safe === undefined ? base.safe : checkBoolean(`${option}.safe`, object.safe),
  };
}

/**
 * Validates `options` once and returns them resolved (defaults applied, connector made).
 * Throws `ConfigError` naming the offending option and what it accepts.
 */
export function resolveStreamsOptions(options: RedisStreamsOptions): ResolvedStreamsOptions {
  const input = checkObject('RedisStreamsTransport', options);
  rejectUnknownOptions('RedisStreamsTransport', input, OPTION_KEYS);
  const D = DEFAULT_STREAMS_OPTIONS;
  const int = (key: string, fallback: number, min: number, max?: number): number =>
    checkInteger(key, input[key] ?? fallback, min, max);

  const prefetch = int('prefetch', D.prefetch, 1, 100_000);
  const blockMs = int('blockMs', D.blockMs, 1, 600_000);
  const minIdleMs = int('minIdleMs', D.minIdleMs, 10);
  const reclaimIntervalMs =
    input.reclaimIntervalMs === undefined
      ? Math.max(5, Math.min(D.reclaimIntervalMs, Math.floor(minIdleMs / 2)))
      : checkInteger('reclaimIntervalMs', input.reclaimIntervalMs, 5);
  const maxDeliveries = int('maxDeliveries', D.maxDeliveries, 0);
  const ackBatch = checkObject('ackBatch', input.ackBatch ?? {});
  rejectUnknownOptions('ackBatch', ackBatch, ['maxSize', 'maxDelayMs']);
  const ackBatchSize = checkInteger('ackBatch.maxSize', ackBatch.maxSize ?? D.ackBatch.maxSize, 1, 100_000);
  const ackDelayMs = checkInteger(
    'ackBatch.maxDelayMs',
    ackBatch.maxDelayMs ?? D.ackBatch.maxDelayMs,
    0,
    10_000,
  );
  const delayedPollMs = int('delayedPollMs', D.delayedPollMs, 5);
  const deadLetter = checkObject('deadLetter', input.deadLetter ?? {});
  rejectUnknownOptions('deadLetter', deadLetter, ['maxLen']);
  const deadLetterMaxLen = checkInteger('deadLetter.maxLen', deadLetter.maxLen ?? D.deadLetter.maxLen, 1);
  const janitorIntervalMs = int('janitorIntervalMs', D.janitorIntervalMs, 0);
  const idleConsumerMs = int('idleConsumerMs', D.idleConsumerMs, 0);
  const leaseMs = int('leaseMs', D.leaseMs, 30);

  const base: ResolvedSubjectOptions = {
    partitions: D.partitions,
    ordered: D.ordered,
    maxLen: undefined,
    maxAgeMs: undefined,
    safe: false,
  };
  const defaults = input.defaults === undefined ? base : resolveSubject('defaults', input.defaults, base);
  const subjects = new Map<string, ResolvedSubjectOptions>();
  if (input.subjects !== undefined) {
    const object = checkObject('subjects', input.subjects);
    for (const [subject, settings] of Object.entries(object)) {
      checkSubject(subject, `subjects.${subject}`);
      subjects.set(subject, resolveSubject(`subjects.${subject}`, settings, defaults));
    }
  }

  const logger = (input.logger as Logger | undefined) ?? defaultLogger();
  if (typeof logger.child !== 'function') throw new ConfigError('logger', 'must be a pino-shaped logger');
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

  return {
    connector,
    ownsConnector,
    logger,
    prefetch,
    blockMs,
    minIdleMs,
    reclaimIntervalMs,
    // Well below minIdleMs / 2, so a held entry never looks idle to another consumer's reclaim.
    keepAliveIntervalMs: Math.max(5, Math.floor(minIdleMs / 3)),
    maxDeliveries,
    ackBatchSize,
    ackDelayMs,
    delayedPollMs,
    deadLetterMaxLen,
    janitorIntervalMs,
    idleConsumerMs,
    leaseMs,
    defaults,
    subjects,
  };
}
