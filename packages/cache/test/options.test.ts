import { ConfigError, jsonCodec, silentLogger } from '@relaybus/core';
import { hashSlot } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { within } from '../src/deadline.js';
import { Inbox } from '../src/inbox.js';
import { cacheKeyNames, createCache } from '../src/index.js';

function optionError(make: () => unknown): string | undefined {
  try {
    make();
  } catch (error) {
    if (error instanceof ConfigError) return error.option;
    throw error;
  }
  return undefined;
}

describe('createCache options', () => {
  const redis = { url: 'redis://127.0.0.1:1' };

  it('names the offending option', () => {
    expect(optionError(() => createCache({ redis, name: '' }))).toBe('name');
    expect(optionError(() => createCache({ redis, name: 'a b' }))).toBe('name');
    expect(optionError(() => createCache({ redis, name: 'a{b}' }))).toBe('name');
    expect(optionError(() => createCache({ redis, name: 'n', ttlMs: 0 }))).toBe('ttlMs');
    expect(optionError(() => createCache({ redis, name: 'n', lockTtlMs: 1.5 }))).toBe('lockTtlMs');
    expect(optionError(() => createCache({ redis, name: 'n', prefix: 'a b' }))).toBe('prefix');
    expect(optionError(() => createCache({ redis, name: 'n', codec: {} as never }))).toBe('codec');
    expect(optionError(() => createCache({ redis, name: 'n', schema: {} as never }))).toBe('schema');
    expect(optionError(() => createCache({ redis, name: 'n', colour: 1 } as never))).toBe(
      'createCache.colour',
    );
    expect(optionError(() => createCache({ redis: { url: 'http://x' }, name: 'n' }))).toBe('redis.url');
  });

  it('accepts a codec, a schema and a prefix', async () => {
    const cache = createCache({
      redis,
      name: 'n',
      codec: jsonCodec,
      schema: z.object({ id: z.number() }),
      prefix: 'app:',
      logger: silentLogger,
    });
    expect(cache.name).toBe('n');
    await cache.close();
  });

  it('rejects bad keys and calls after close without touching Redis', async () => {
    const cache = createCache({ redis, name: 'n', logger: silentLogger });
    await expect(cache.get('')).rejects.toMatchObject({ option: 'key' });
    await expect(cache.get('x'.repeat(1_001))).rejects.toMatchObject({ option: 'key' });
    await expect(cache.getMany(['a', ''])).rejects.toMatchObject({ option: 'keys[1]' });
    await expect(cache.set('k', 1, { ttlMs: -5 })).rejects.toMatchObject({ option: 'ttlMs' });
    await expect(cache.set('k', undefined)).rejects.toMatchObject({ code: 'RELAYBUS_ENCODE_FAILED' });
    await expect(cache.wait('k', { timeoutMs: -1 })).rejects.toMatchObject({ option: 'timeoutMs' });
    await expect(cache.getOrSet('k', 'value' as never)).rejects.toMatchObject({ option: 'producer' });
    await cache.close();
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'RELAYBUS_CLOSED' });
  });
});

describe('key layout', () => {
  it('puts a key, its lock and its channel in one slot, different keys apart', () => {
    for (const key of ['plain', 'with}brace', '}leading', 'a{b}c', 'ünïcode']) {
      const names = cacheKeyNames('relaybus:', 'users', key);
      expect(names.value).toBe(`relaybus:cache:{users:${key}}`);
      expect(hashSlot(names.lock)).toBe(hashSlot(names.value));
      expect(hashSlot(names.channel)).toBe(hashSlot(names.value));
    }
    const slots = new Set(
      Array.from({ length: 50 }, (_, index) =>
        hashSlot(cacheKeyNames('relaybus:', 'users', `k${index}`).value),
      ),
    );
    expect(slots.size).toBeGreaterThan(40);
  });

  it('never gives two keys the same names', () => {
    const a = cacheKeyNames('p:', 'n', 'x}:lock');
    const b = cacheKeyNames('p:', 'n', 'x');
    expect(new Set([a.value, a.lock, a.channel, b.value, b.lock, b.channel]).size).toBe(6);
  });
});

describe('within', () => {
  it('resolves the value, times out, or rejects with the abort reason', async () => {
    expect(await within(Promise.resolve(1), Date.now() + 1_000, undefined)).toEqual({
      timedOut: false,
      value: 1,
    });
    expect(await within(new Promise(() => undefined), Date.now() + 20, undefined)).toEqual({
      timedOut: true,
    });
    const controller = new AbortController();
    const pending = within(new Promise(() => undefined), undefined, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(within(Promise.resolve(1), undefined, AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe('Inbox', () => {
  it('hands an abandoned next() out again, so no event is lost', async () => {
    const inbox = new Inbox();
    const first = inbox.next();
    expect(await within(first, Date.now() + 10, undefined)).toEqual({ timedOut: true });
    const second = inbox.next();
    expect(second).toBe(first);
    inbox.message(Buffer.from('vhello'));
    expect(await second).toEqual({ kind: 'value', payload: Buffer.from('hello') });
    inbox.message(Buffer.from('r'));
    inbox.resync();
    expect(await inbox.next()).toEqual({ kind: 'released' });
    expect(await inbox.next()).toEqual({ kind: 'resync' });
  });
});
