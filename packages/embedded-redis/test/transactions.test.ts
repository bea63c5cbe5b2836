import { Redis } from 'iovalkey';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

describe('embedded server: MULTI/EXEC/WATCH', () => {
  let redis: EmbeddedRedis;
  let client: Redis;
  let other: Redis;

  beforeAll(async () => {
    redis = await startEmbeddedRedis();
    client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    other = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    await client.connect();
    await other.connect();
  });

  afterAll(async () => {
    client.disconnect();
    other.disconnect();
    await redis.close();
  });

  beforeEach(async () => {
    await client.flushall();
  });

  it('runs queued commands atomically and reports each reply', async () => {
    const results = await client.multi().set('k', '1').incr('k').get('k').exec();
    expect(results).toEqual([
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
  });

  it('returns runtime errors per command and aborts on queue-time errors', async () => {
    const results = await client.multi().set('k', 'abc').incr('k').exec();
    expect(results?.[0]).toEqual([null, 'OK']);
    expect(String(results?.[1]?.[0])).toContain('ERR value is not an integer or out of range');
    await client.call('MULTI');
    await expect(client.call('NOPE')).rejects.toThrow("ERR unknown command 'NOPE'");
    await expect(client.call('EXEC')).rejects.toThrow(
      'EXECABORT Transaction discarded because of previous errors.',
    );
  });

  it('aborts EXEC when a watched key changed and runs it otherwise', async () => {
    await client.set('w', '1');
    await client.watch('w');
    await other.set('w', '2');
    expect(await client.multi().set('w', '3').exec()).toBeNull();
    expect(await client.get('w')).toBe('2');
    await client.watch('w');
    expect(await client.multi().set('w', '3').exec()).toEqual([[null, 'OK']]);
    await expect(client.call('EXEC')).rejects.toThrow('ERR EXEC without MULTI');
    await expect(client.call('DISCARD')).rejects.toThrow('ERR DISCARD without MULTI');
  });
});
