import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSubject, until } from '../../testing/dist/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../src/index.js';

/** Sorted sets end to end through iovalkey against the embedded server. */

let server: EmbeddedRedis;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startEmbeddedRedis();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.close();
});

function connect(): Redis {
  const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
  clients.push(client);
  return client;
}

async function blockedClients(client: Redis): Promise<number> {
  const list = (await client.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => / cmd=bz(popmin|popmax|mpop)\b/.test(line) && / flags=\S*b/.test(line)).length;
}

describe('sorted sets through iovalkey', () => {
  it('serves the delayed-message forms of the relaybus transports: ZADD due times, ZRANGEBYSCORE -inf now LIMIT, ZRANGE 0 0 WITHSCORES, ZREM', async () => {
    const client = connect();
    const delayed = randomSubject('delayed');
    const now = Date.now();
    await client.zadd(delayed, now - 10, 'n1:due', now - 5, 'n2:due', now + 60_000, 'n3:later');
    expect(await client.zrangebyscore(delayed, '-inf', now, 'LIMIT', 0, 1)).toEqual(['n1:due']);
    expect(await client.zrangebyscore(delayed, '-inf', now, 'LIMIT', 0, 100)).toEqual(['n1:due', 'n2:due']);
    expect(await client.zrem(delayed, 'n1:due', 'n2:due')).toBe(2);
    const next = await client.zrange(delayed, 0, 0, 'WITHSCORES');
    expect(next).toEqual(['n3:later', String(now + 60_000)]);
    expect(Number(await client.zscore(delayed, 'n3:later'))).toBe(now + 60_000);
    expect(await client.zcard(delayed)).toBe(1);
  });

  it('keeps the consumer registry the reaper reads: ZADD refresh, ZRANGE 0 -1, ZSCORE, ZREM', async () => {
    const client = connect();
    const registry = randomSubject('consumers');
    await client.zadd(registry, 100, 'c1', 200, 'c2');
    await client.zadd(registry, 300, 'c1');
    expect(await client.zrange(registry, 0, -1)).toEqual(['c2', 'c1']);
    expect(await client.zscore(registry, 'c1')).toBe('300');
    expect(await client.zrem(registry, 'c2')).toBe(1);
    expect(await client.zrem(registry, 'c1')).toBe(1);
    expect(await client.exists(registry)).toBe(0);
  });

  it('answers ranks and ranges of 20k members in score order', async () => {
    const client = connect();
    const key = randomSubject('big');
    const pipeline = client.pipeline();
    for (let i = 0; i < 20; i++) {
      const args: (string | number)[] = [];
      for (let j = 0; j < 1000; j++) {
        const n = i * 1000 + j;
        args.push((n * 7919) % 20_000, `m${n}`);
      }
      pipeline.zadd(key, ...args);
    }
    await pipeline.exec();
    expect(await client.zcard(key)).toBe(20_000);
    const lowest = await client.zrange(key, 0, 2, 'WITHSCORES');
    expect(lowest.filter((_, i) => i % 2 === 1)).toEqual(['0', '1', '2']);
    expect(await client.zcount(key, 100, '(200')).toBe(100);
    const member = lowest[2] as string;
    expect(await client.zrank(key, member)).toBe(1);
    expect(await client.zrevrank(key, member)).toBe(19_998);
    expect(await client.zremrangebyscore(key, '-inf', '(10000')).toBe(10_000);
    expect(await client.zrangebyscore(key, 10_000, 10_002)).toHaveLength(3);
  });

  it('BZPOPMIN blocks until a member arrives, serves waiters FIFO and times out with null', async () => {
    const [a, b, pusher] = [connect(), connect(), connect()];
    const key = randomSubject('bz');
    expect(await a.bzpopmin(key, 0.1)).toBeNull();
    const first = a.bzpopmin(key, 0);
    await until(async () => (await blockedClients(pusher)) === 1, 10_000);
    const second = b.bzpopmax(key, 0);
    await until(async () => (await blockedClients(pusher)) === 2, 10_000);
    await pusher.zadd(key, 1, 'low', 5, 'high', 3, 'mid');
    expect(await first).toEqual([key, 'low', '1']);
    expect(await second).toEqual([key, 'high', '5']);
    expect(await pusher.zrange(key, 0, -1)).toEqual(['mid']);
  });
});
