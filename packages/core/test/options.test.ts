import { describe, expect, it } from 'vitest';
import {
  Broker,
  ConfigError,
  checkSubject,
  DEFAULT_RETRY_POLICY,
  ErrorCode,
  newMessageId,
  resolveRetryPolicy,
  retryDelayMs,
} from '../src/index.js';

describe('option validation', () => {
  it('rejects a Broker without a transport, naming the option', () => {
    expect(() => new Broker({} as never)).toThrow(/"transport"/);
  });

  it('rejects unknown Broker options, naming the key', () => {
    const transport = { subscribe: () => {} } as never;
    expect(() => new Broker({ transport, stopDeadlinMs: 5 } as never)).toThrow(
      /"broker.stopDeadlinMs": unknown option/,
    );
  });

  it('rejects a negative stop deadline with INVALID_OPTION', () => {
    const transport = { subscribe: () => {}, name: 't' } as never;
    expect(() => new Broker({ transport, stopDeadlineMs: -1 })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidOption, option: 'stopDeadlineMs' }),
    );
  });

  it('accepts plain subjects and rejects empty, braced, spaced and control-character ones', () => {
    expect(checkSubject('orders.created')).toBe('orders.created');
    for (const bad of ['', 'a{b}', 'a b', 'a\u0001', 'x'.repeat(201)]) {
      expect(() => checkSubject(bad)).toThrow(ConfigError);
    }
  });
});

describe('retry policy', () => {
  it('defaults to five deliveries with exponential backoff', () => {
    expect(resolveRetryPolicy(undefined)).toBe(DEFAULT_RETRY_POLICY);
    expect(resolveRetryPolicy({ maxDeliveries: 2 }).maxDeliveries).toBe(2);
  });

  it('rejects a zero maxDeliveries and a bad backoff kind, naming the option', () => {
    expect(() => resolveRetryPolicy({ maxDeliveries: 0 })).toThrow(/"retry.maxDeliveries"/);
    expect(() => resolveRetryPolicy({ backoff: { kind: 'linear' } as never })).toThrow(
      /"retry.backoff.kind"/,
    );
    expect(() =>
      resolveRetryPolicy({ backoff: { kind: 'exponential', initialDelayMs: 100, maxDelayMs: 10 } }),
    ).toThrow(/"retry.backoff.maxDelayMs"/);
  });

  it('grows exponential delays by the factor up to the cap', () => {
    const backoff = { kind: 'exponential', initialDelayMs: 100, maxDelayMs: 1000, factor: 2 } as const;
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(backoff, n, null))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('keeps jittered delays within ± jitter of the base', () => {
    const backoff = { kind: 'fixed', delayMs: 1000, jitter: 0.2 } as const;
    expect(retryDelayMs(backoff, 1, null, () => 0)).toBe(800);
    expect(retryDelayMs(backoff, 1, null, () => 0.9999)).toBe(1199);
  });
});

describe('message ids', () => {
  it('are unique and sort by creation order within a process', () => {
    const ids = Array.from({ length: 5000 }, () => newMessageId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
