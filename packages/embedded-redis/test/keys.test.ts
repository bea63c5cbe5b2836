import { Redis } from 'iovalkey';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, ManualClock, startEmbeddedRedis } from '../src/index.js';

describe('embedded server: keys', () => {
  let redis: EmbeddedRedis;
  let client: Redis;
  const clock = new ManualClock(1_700_000_000_000);

  beforeAll(async () => {
    redis = await startEmbeddedRedis({ clock });
    client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    await client.connect();
  });

  afterAll(async () => {
    client.disconnect();
    await redis.close();
  });

  beforeEach(async () => {
    await client.flushall();
  });

  it('deletes, counts and types keys', async () => {
    await client.mset('a', '1', 'b', '2');
    await client.lpush('list', 'x');
    expect(await client.exists('a', 'a', 'nope')).toBe(2);
    expect(await client.type('a')).toBe('string');
    expect(await client.type('list')).toBe('list');
    expect(await client.type('nope')).toBe('none');
    expect(await client.del('a', 'nope')).toBe(1);
    expect(await client.unlink('b')).toBe(1);
    expect(await client.dbsize()).toBe(1);
  });

  it('applies EXPIRE options NX, XX, GT and LT and reports TTLs', async () => {
    await client.set('k', 'v');
    expect(await client.ttl('k')).toBe(-1);
    expect(await client.ttl('nope')).toBe(-2);
    expect(await client.call('EXPIRE', 'k', '100', 'XX')).toBe(0);
    expect(await client.call('EXPIRE', 'k', '100', 'NX')).toBe(1);
    expect(await client.call('EXPIRE', 'k', '50', 'GT')).toBe(0);
    expect(await client.call('EXPIRE', 'k', '50', 'LT')).toBe(1);
    expect(await client.ttl('k')).toBe(50);
    expect(await client.call('EXPIRETIME', 'k')).toBe(Math.floor(clock.now() / 1000) + 50);
    await expect(client.call('EXPIRE', 'k', '5', 'NX', 'GT')).rejects.toThrow(
      'ERR NX and XX, GT or LT options at the same time are not compatible',
    );
    expect(await client.persist('k')).toBe(1);
    expect(await client.ttl('k')).toBe(-1);
    expect(await client.pexpireat('k', clock.now() - 1)).toBe(1);
    expect(await client.exists('k')).toBe(0);
  });

  it('removes expired keys actively when the clock advances', async () => {
    for (let i = 0; i < 50; i++) await client.set(`t${i}`, 'v', 'PX', 100);
    expect(await client.dbsize()).toBe(50);
    clock.advance(101);
    expect(await client.dbsize()).toBe(0);
  });

  it('renames and copies, keeping the TTL', async () => {
    await client.set('a', '1', 'EX', 100);
    expect(await client.rename('a', 'b')).toBe('OK');
    expect(await client.ttl('b')).toBe(100);
    await expect(client.rename('nope', 'x')).rejects.toThrow('ERR no such key');
    await client.set('c', '3');
    expect(await client.renamenx('b', 'c')).toBe(0);
    expect(await client.copy('c', 'd')).toBe(1);
    expect(await client.copy('c', 'd')).toBe(0);
    expect(await client.call('COPY', 'c', 'd', 'DB', '1')).toBe(1);
    await client.select(1);
    expect(await client.get('d')).toBe('3');
    await client.select(0);
  });

  it('scans every key exactly as present, with MATCH, COUNT and TYPE', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `key:${i}`);
    await client.mset(...keys.flatMap((k) => [k, 'v']));
    await client.lpush('a-list', 'x');
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = (await client.scan(cursor, 'COUNT', 17)) as [string, string[]];
      for (const key of batch) seen.add(key);
      // Deleting other keys while scanning must not make SCAN skip the ones that stay.
      if (seen.size > 100 && seen.size < 120) await client.del('key:299', 'key:298');
      cursor = next;
    } while (cursor !== '0');
    for (const key of keys.slice(0, 298)) expect(seen.has(key)).toBe(true);
    const [, sets] = (await client.scan('0', 'COUNT', 1000, 'TYPE', 'list')) as [string, string[]];
    expect(sets).toEqual(['a-list']);
    const [, matched] = (await client.scan('0', 'MATCH', 'key:1?', 'COUNT', 1000)) as [string, string[]];
    expect(matched.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `key:1${i}`).sort());
    expect((await client.keys('key:2[0-4]')).sort()).toEqual([
      'key:20',
      'key:21',
      'key:22',
      'key:23',
      'key:24',
    ]);
    expect(await client.randomkey()).not.toBeNull();
  });

  it('reports object encodings like Redis 7.0', async () => {
    await client.set('i', '123');
    await client.set('e', 'hello');
    await client.set('r', 'x'.repeat(45));
    expect(await client.object('ENCODING', 'i')).toBe('int');
    expect(await client.object('ENCODING', 'e')).toBe('embstr');
    expect(await client.object('ENCODING', 'r')).toBe('raw');
    expect(await client.object('ENCODING', 'nope')).toBeNull();
  });
});
