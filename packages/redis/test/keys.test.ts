import { ConfigError } from '@relaybus/core';
import { CLUSTER_SLOTS, checkRedisSubject, hashSlot, KeySpace } from '@relaybus/redis';
import { describe, expect, it } from 'vitest';

describe('KeySpace', () => {
  const keys = new KeySpace('relaybus:');

  it('wraps the subject in a hash tag', () => {
    expect(keys.prefix).toBe('relaybus:');
    expect(keys.stream('orders')).toBe('relaybus:{orders}');
    expect(keys.side('orders', 'dlq')).toBe('relaybus:{orders}:dlq');
    expect(keys.side('orders', 'processing:worker-1')).toBe('relaybus:{orders}:processing:worker-1');
    expect(keys.partition('orders', 0)).toBe('relaybus:{orders:p0}');
    expect(keys.partition('orders', 12)).toBe('relaybus:{orders:p12}');
  });

  it('keeps a subject and its side keys in one slot, and spreads partitions', () => {
    const slot = hashSlot(keys.stream('orders'));
    expect(hashSlot(keys.side('orders', 'dlq'))).toBe(slot);
    expect(hashSlot(keys.side('orders', 'delayed'))).toBe(slot);
    const partitionSlots = new Set(
      Array.from({ length: 16 }, (_, i) => hashSlot(keys.partition('orders', i))),
    );
    expect(partitionSlots.size).toBeGreaterThan(8);
  });

  it('honours a custom or empty prefix', () => {
    expect(new KeySpace('app:').stream('x')).toBe('app:{x}');
    expect(new KeySpace('').stream('x')).toBe('{x}');
  });

  it('rejects bad subjects, suffixes, partitions and prefixes', () => {
    expect(() => keys.stream('a b')).toThrow(ConfigError);
    expect(() => keys.stream('{a}')).toThrow(ConfigError);
    expect(() => keys.side('orders', '')).toThrow(/suffix/);
    expect(() => keys.side('orders', 'a}')).toThrow(/suffix/);
    expect(() => keys.partition('orders', -1)).toThrow(/partition/);
    expect(() => keys.partition('orders', 1.5)).toThrow(/partition/);
    expect(() => new KeySpace('a{')).toThrow(/keyPrefix/);
  });
});

describe('checkRedisSubject', () => {
  it('returns valid subjects', () => {
    expect(checkRedisSubject('orders.created')).toBe('orders.created');
    expect(checkRedisSubject('orders:eu')).toBe('orders:eu');
  });

  it('rejects what core rejects, naming the option', () => {
    const error = (() => {
      try {
        checkRedisSubject('', 'subscribe.subject');
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.option).toBe('subscribe.subject');
    expect(() => checkRedisSubject('a'.repeat(201))).toThrow(ConfigError);
    expect(() => checkRedisSubject('x\ny')).toThrow(ConfigError);
  });

  it('reserves the partition suffix', () => {
    expect(() => checkRedisSubject('orders:p0')).toThrow(/reserved for partitions/);
    expect(checkRedisSubject('orders:prod')).toBe('orders:prod');
  });
});

describe('hashSlot', () => {
  it('matches the slots Redis computes', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('bar')).toBe(5061);
    expect(hashSlot('')).toBe(0);
    expect(hashSlot('123456789')).toBe(0x31c3 % CLUSTER_SLOTS);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('{user1000}.followers'));
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('user1000'));
    expect(hashSlot('foo{}{bar}')).toBe(hashSlot('foo{}{bar}'));
    expect(hashSlot('foo{}{bar}')).not.toBe(hashSlot('bar'));
    expect(hashSlot('foo{{bar}}zap')).toBe(hashSlot('{bar'));
    expect(hashSlot('foo{bar}{zap}')).toBe(hashSlot('bar'));
  });

  it('hashes UTF-8 bytes and accepts buffers', () => {
    expect(hashSlot(Buffer.from('foo'))).toBe(12182);
    expect(hashSlot('ключ')).toBe(hashSlot(Buffer.from('ключ', 'utf8')));
  });
});
