import { Redis } from 'iovalkey';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

describe('embedded server: hashes', () => {
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

  it('sets, reads and deletes fields, removing the key when empty', async () => {
    expect(await client.hset('h', 'a', '1', 'b', '2')).toBe(2);
    expect(await client.hset('h', 'a', '9')).toBe(0);
    expect(await client.hsetnx('h', 'a', 'x')).toBe(0);
    expect(await client.hget('h', 'a')).toBe('9');
    expect(await client.hmget('h', 'a', 'zz', 'b')).toEqual(['9', null, '2']);
    expect(await client.hgetall('h')).toEqual({ a: '9', b: '2' });
    expect(await client.hkeys('h')).toEqual(['a', 'b']);
    expect(await client.hvals('h')).toEqual(['9', '2']);
    expect(await client.hlen('h')).toBe(2);
    expect(await client.hexists('h', 'b')).toBe(1);
    expect(await client.hstrlen('h', 'a')).toBe(1);
    expect(await client.hdel('h', 'a', 'b', 'zz')).toBe(2);
    expect(await client.exists('h')).toBe(0);
    await client.set('s', 'x');
    await expect(client.hget('s', 'a')).rejects.toThrow('WRONGTYPE');
  });

  it('increments integers and floats with Redis errors', async () => {
    expect(await client.hincrby('h', 'n', 5)).toBe(5);
    expect(await client.hincrby('h', 'n', -7)).toBe(-2);
    await client.hset('h', 's', 'abc');
    await expect(client.hincrby('h', 's', 1)).rejects.toThrow('ERR hash value is not an integer');
    await expect(client.hincrbyfloat('h', 's', 1)).rejects.toThrow('ERR hash value is not a float');
    expect(await client.hincrbyfloat('h', 'f', 10.5)).toBe('10.5');
    expect(await client.hincrbyfloat('h', 'f', 0.1)).toBe('10.6');
  });

  it('scans large hashes completely and picks random fields', async () => {
    const fields = Array.from({ length: 500 }, (_, i) => [`f${i}`, `${i}`]).flat();
    await client.hset('big', ...fields);
    const seen = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, batch] = (await client.hscan('big', cursor, 'COUNT', 50)) as [string, string[]];
      for (let i = 0; i < batch.length; i += 2) seen.set(batch[i] as string, batch[i + 1] as string);
      cursor = next;
    } while (cursor !== '0');
    expect(seen.size).toBe(500);
    expect(seen.get('f123')).toBe('123');
    const picked = (await client.hrandfield('big', 5)) as string[];
    expect(new Set(picked).size).toBe(5);
    const repeated = (await client.hrandfield('big', -600)) as string[];
    expect(repeated).toHaveLength(600);
    const withValues = (await client.hrandfield('big', 2, 'WITHVALUES')) as string[];
    expect(withValues).toHaveLength(4);
    expect(withValues[1]).toBe((withValues[0] as string).slice(1));
  });
});
