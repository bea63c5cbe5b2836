import { Redis } from 'iovalkey';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

describe('embedded server: sets', () => {
  let redis: EmbeddedRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startEmbeddedRedis();
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

  it('adds, tests and removes members; integer sets come back sorted as intsets do', async () => {
    expect(await client.sadd('s', '3', '1', '2', '10')).toBe(4);
    expect(await client.sadd('s', '1')).toBe(0);
    expect(await client.smembers('s')).toEqual(['1', '2', '3', '10']);
    expect(await client.sismember('s', '2')).toBe(1);
    expect(await client.smismember('s', '2', '9')).toEqual([1, 0]);
    expect(await client.scard('s')).toBe(4);
    expect(await client.srem('s', '10', '99')).toBe(1);
    expect(await client.smove('s', 'other', '1')).toBe(1);
    expect(await client.smembers('other')).toEqual(['1']);
    expect(await client.spop('other')).toBe('1');
    expect(await client.exists('other')).toBe(0);
  });

  it('combines sets and stores results', async () => {
    await client.sadd('a', '1', '2', '3');
    await client.sadd('b', '2', '3', '4');
    expect(await client.sinter('a', 'b')).toEqual(['2', '3']);
    expect(await client.sunion('a', 'b')).toEqual(['1', '2', '3', '4']);
    expect(await client.sdiff('a', 'b')).toEqual(['1']);
    expect(await client.sinterstore('d', 'a', 'b')).toBe(2);
    expect(await client.sinterstore('d', 'a', 'missing')).toBe(0);
    expect(await client.exists('d')).toBe(0);
    expect(await client.call('SINTERCARD', '2', 'a', 'b', 'LIMIT', '1')).toBe(1);
    await expect(client.call('SINTERCARD', '0', 'a')).rejects.toThrow('ERR numkeys should be greater than 0');
  });

  it('pops and samples without repeats for positive counts', async () => {
    await client.sadd('s', ...Array.from({ length: 200 }, (_, i) => `m${i}`));
    const sample = (await client.srandmember('s', 50)) as string[];
    expect(new Set(sample).size).toBe(50);
    const popped = (await client.spop('s', 30)) as string[];
    expect(new Set(popped).size).toBe(30);
    expect(await client.scard('s')).toBe(170);
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = (await client.sscan('s', cursor, 'COUNT', 25)) as [string, string[]];
      for (const m of batch) seen.add(m);
      cursor = next;
    } while (cursor !== '0');
    expect(seen.size).toBe(170);
  });
});
