import { ConfigError } from './errors.js';
import { checkInteger, checkNumber, rejectUnknownOptions } from './options.js';

/** How long to wait before the next delivery of a failed message. */
export type Backoff =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly delayMs: number; readonly jitter?: number }
  | {
      readonly kind: 'exponential';
      readonly initialDelayMs: number;
      readonly maxDelayMs: number;
      readonly factor?: number;
      readonly jitter?: number;
    }
  | { readonly kind: 'custom'; readonly delayMs: (deliveryCount: number, error: unknown) => number };

/** Retry policy of a handler subscription. */
export interface RetryPolicy {
  /** After this many failed deliveries the message is dead-lettered with reason `max-deliveries`. */
  readonly maxDeliveries: number;
  /** Delay before each redelivery; carried out with `nack({ requeue: true, delayMs })`. */
  readonly backoff: Backoff;
}

/** Defaults: five deliveries, exponential backoff 200 ms → 30 s with 20 % jitter. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxDeliveries: 5,
  backoff: { kind: 'exponential', initialDelayMs: 200, maxDelayMs: 30_000, factor: 2, jitter: 0.2 },
};

/** Validates a retry policy (merged over the defaults); throws `ConfigError` naming the option. */
export function resolveRetryPolicy(input: Partial<RetryPolicy> | undefined, scope = 'retry'): RetryPolicy {
  if (input === undefined) return DEFAULT_RETRY_POLICY;
  rejectUnknownOptions(scope, input, ['maxDeliveries', 'backoff']);
  const maxDeliveries = checkInteger(
    `${scope}.maxDeliveries`,
    input.maxDeliveries ?? DEFAULT_RETRY_POLICY.maxDeliveries,
    1,
  );
  const backoff = input.backoff ?? DEFAULT_RETRY_POLICY.backoff;
  const b = `${scope}.backoff`;
  switch (backoff.kind) {
    case 'none':
      break;
    case 'fixed':
      checkNumber(`${b}.delayMs`, backoff.delayMs, 0);
      checkNumber(`${b}.jitter`, backoff.jitter ?? 0, 0, 1);
      break;
    case 'exponential':
      checkNumber(`${b}.initialDelayMs`, backoff.initialDelayMs, 0);
      checkNumber(`${b}.maxDelayMs`, backoff.maxDelayMs, backoff.initialDelayMs);
      checkNumber(`${b}.factor`, backoff.factor ?? 2, 1);
      checkNumber(`${b}.jitter`, backoff.jitter ?? 0, 0, 1);
      break;
    case 'custom':
      if (typeof backoff.delayMs !== 'function') throw new ConfigError(`${b}.delayMs`, 'must be a function');
      break;
    default:
      throw new ConfigError(`${b}.kind`, 'must be one of "none", "fixed", "exponential", "custom"');
  }
  return { maxDeliveries, backoff };
}

/**
 * Delay before delivery number `deliveryCount + 1`, after delivery `deliveryCount` failed.
 * Jitter spreads retries of many messages that failed together by ± `jitter` × delay.
 */
export function retryDelayMs(
  backoff: Backoff,
  deliveryCount: number,
  error: unknown,
  random = Math.random,
): number {
  switch (backoff.kind) {
    case 'none':
      return 0;
    case 'fixed':
      return withJitter(backoff.delayMs, backoff.jitter ?? 0, random);
    case 'exponential': {
      const raw = backoff.initialDelayMs * (backoff.factor ?? 2) ** Math.max(0, deliveryCount - 1);
      return withJitter(Math.min(raw, backoff.maxDelayMs), backoff.jitter ?? 0, random);
    }
    case 'custom':
      return Math.max(0, Math.floor(backoff.delayMs(deliveryCount, error)));
  }
}

function withJitter(delayMs: number, jitter: number, random: () => number): number {
  if (jitter === 0) return Math.floor(delayMs);
  return Math.max(0, Math.floor(delayMs * (1 - jitter + 2 * jitter * random())));
}
