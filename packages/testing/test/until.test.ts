import { randomSubject, UntilTimeoutError, until } from '@relaybus/testing';
import { describe, expect, it } from 'vitest';

describe('until', () => {
  it('resolves as soon as the predicate is true', async () => {
    let calls = 0;
    await until(() => ++calls === 3, 1_000);
    expect(calls).toBe(3);
  });

  it('accepts async predicates', async () => {
    let calls = 0;
    await until(async () => ++calls >= 2, 1_000);
    expect(calls).toBe(2);
  });

  it('rejects after the deadline with an error naming the condition', async () => {
    const started = Date.now();
    const error = await until(() => false, 100, 'the moon to turn blue').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UntilTimeoutError);
    expect((error as Error).message).toMatch(/Timed out after \d+ ms waiting for the moon to turn blue/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('counts a throwing predicate as not yet and reports its last error', async () => {
    const error = await until(
      () => {
        throw new Error('still broken');
      },
      50,
      'repair',
    ).catch((e: unknown) => e);
    expect((error as Error).message).toContain('last error: still broken');
  });
});

describe('randomSubject', () => {
  it('makes distinct subjects with the prefix and no braces or spaces', () => {
    const a = randomSubject('orders');
    const b = randomSubject('orders');
    expect(a).toMatch(/^orders-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(randomSubject()).toMatch(/^test-[0-9a-f]{12}$/);
  });

  it('rejects a prefix that would make an invalid subject', () => {
    expect(() => randomSubject('a b')).toThrow(/prefix/);
    expect(() => randomSubject('{x}')).toThrow(/prefix/);
  });
});
