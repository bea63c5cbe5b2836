import { Redis } from 'iovalkey';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, ManualClock, startEmbeddedRedis } from '../src/index.js';

describe('embedded server: strings', () => {
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

  it('sets with NX, XX and GET as Redis does', async () => {
    expect(await client.set('k', 'v')).toBe('OK');
    expect(await client.get('k')).toBe('v');
    expect(await client.set('k', 'w', 'NX')).toBeNull();
    expect(await client.call('SET', 'k', 'w', 'XX', 'GET')).toBe('v');
    expect(await client.call('SET', 'missing', 'w', 'XX')).toBeNull();
    await expect(client.call('SET', 'k', 'v', 'NX', 'XX')).rejects.toThrow('ERR syntax error');
    await expect(client.call('SET', 'k', 'v', 'EX', '0')).rejects.toThrow(
      "ERR invalid expire time in 'set' command",
    );
    await client.lpush('list', 'x');
    await expect(client.call('SET', 'list', 'v', 'GET')).rejects.toThrow('WRONGTYPE');
    expect(await client.set('list', 'v')).toBe('OK');
  });

  it('expires keys on the injected clock: EX, PX, KEEPTTL, GETEX, PERSIST', async () => {
    await client.set('k', 'v', 'EX', 10);
    expect(await client.ttl('k')).toBe(10);
    await client.call('SET', 'k', 'v2', 'KEEPTTL');
    expect(await client.pttl('k')).toBe(10_000);
    clock.advance(9_999);
    expect(await client.get('k')).toBe('v2');
    clock.advance(1);
    expect(await client.get('k')).toBeNull();
    await client.set('g', 'v');
    expect(await client.call('GETEX', 'g', 'PX', '500')).toBe('v');
    expect(await client.pttl('g')).toBe(500);
    expect(await client.call('GETEX', 'g', 'PERSIST')).toBe('v');
    expect(await client.ttl('g')).toBe(-1);
    await client.setex('s', 5, 'v');
    clock.advance(5_000);
    expect(await client.exists('s')).toBe(0);
  });

  it('counts with INCR and friends, rejecting non-integers and overflow', async () => {
    expect(await client.incr('n')).toBe(1);
    expect(await client.incrby('n', 10)).toBe(11);
    expect(await client.decrby('n', 3)).toBe(8);
    expect(await client.decr('n')).toBe(7);
    await client.set('big', '9223372036854775807');
    await expect(client.incr('big')).rejects.toThrow('ERR increment or decrement would overflow');
    await client.set('s', 'abc');
    await expect(client.incr('s')).rejects.toThrow('ERR value is not an integer or out of range');
    await client.set('f', '10.5');
    expect(await client.incrbyfloat('f', 0.1)).toBe('10.6');
    expect(await client.incrbyfloat('f', '1e3')).toBe('1010.59999999999999998');
    await expect(client.incrbyfloat('s', 1)).rejects.toThrow('ERR value is not a valid float');
  });

  it('handles MSET, MSETNX, MGET, GETSET, GETDEL, APPEND and ranges', async () => {
    expect(await client.mset('a', '1', 'b', '2')).toBe('OK');
    expect(await client.mget('a', 'b', 'c')).toEqual(['1', '2', null]);
    expect(await client.msetnx('a', 'x', 'c', '3')).toBe(0);
    expect(await client.getset('a', '100')).toBe('1');
    expect(await client.getdel('a')).toBe('100');
    expect(await client.exists('a')).toBe(0);
    expect(await client.append('b', 'xyz')).toBe(4);
    expect(await client.strlen('b')).toBe(4);
    expect(await client.getrange('b', -2, -1)).toBe('yz');
    expect(await client.setrange('b', 6, 'hi')).toBe(8);
    expect(await client.getBuffer('b')).toEqual(Buffer.from('2xyz\0\0hi', 'latin1'));
    await expect(client.call('MSET', 'a', '1', 'b')).rejects.toThrow(
      "ERR wrong number of arguments for 'mset' command",
    );
  });

  it('keeps binary values intact', async () => {
    const value = Buffer.from([0, 255, 13, 10, 36, 42, 128]);
    await client.set(Buffer.from([1, 200]), value);
    expect(await client.getBuffer(Buffer.from([1, 200]))).toEqual(value);
  });
});
