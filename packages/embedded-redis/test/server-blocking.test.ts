import { Redis } from 'iovalkey';
import { describe, expect, it } from 'vitest';
import { until } from '../../testing/dist/index.js';
import { ManualClock, startEmbeddedRedis } from '../src/index.js';

async function client(port: number): Promise<Redis> {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: true });
  await c.connect();
  return c;
}

function blockedClients(info: string): number {
  return Number(/blocked_clients:(\d+)/.exec(info)?.[1]);
}

describe('blocking commands in the server core', () => {
  it('serves parked clients in FIFO order, times out on the injected clock, forgets disconnected ones', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const redis = await startEmbeddedRedis({ clock });
    const [a, b, gone, producer] = await Promise.all([1, 2, 3, 4].map(() => client(redis.port)));
    if (!a || !b || !gone || !producer) throw new Error('clients');
    try {
      const goneReply = gone.blpop('q', 0).catch(() => 'closed');
      await until(async () => blockedClients(await producer.info('clients')) === 1, 10_000);
      const first = a.blpop('q', 0);
      await until(async () => blockedClients(await producer.info('clients')) === 2, 10_000);
      const second = b.blpop('q', 0);
      await until(async () => blockedClients(await producer.info('clients')) === 3, 10_000);
      gone.disconnect();
      await until(async () => blockedClients(await producer.info('clients')) === 2, 10_000);
      expect(await goneReply).toBe('closed');

      await producer.rpush('q', 'one', 'two', 'three');
      expect(await first).toEqual(['q', 'one']);
      expect(await second).toEqual(['q', 'two']);
      expect(await producer.lrange('q', 0, -1)).toEqual(['three']);

      const timed = a.blpop('empty', 5);
      await until(async () => blockedClients(await producer.info('clients')) === 1, 10_000);
      clock.advance(4_999);
      expect(blockedClients(await producer.info('clients'))).toBe(1);
      clock.advance(1);
      expect(await timed).toBeNull();
      // A client's pipelined commands after a blocking one run once it is served.
      const pipeline = b.pipeline().blpop('later', 0).get('after');
      const done = pipeline.exec();
      await until(async () => blockedClients(await producer.info('clients')) === 1, 10_000);
      await producer.set('after', 'yes');
      await producer.lpush('later', 'x');
      expect(await done).toEqual([
        [null, ['later', 'x']],
        [null, 'yes'],
      ]);
    } finally {
      for (const c of [a, b, producer]) c.disconnect();
      await redis.close();
    }
  });

  it('never blocks inside MULTI: the command answers as on timeout', async () => {
    const redis = await startEmbeddedRedis();
    const c = await client(redis.port);
    try {
      expect(await c.multi().blpop('none', 0).set('x', '1').exec()).toEqual([
        [null, null],
        [null, 'OK'],
      ]);
    } finally {
      c.disconnect();
      await redis.close();
    }
  });

  it('ends a blocked command on CLIENT UNBLOCK, as a timeout or with an UNBLOCKED error', async () => {
    const redis = await startEmbeddedRedis();
    const [blocked, admin] = await Promise.all([client(redis.port), client(redis.port)]);
    try {
      const id = (await blocked.client('ID')) as number;
      const first = blocked.blpop('none', 0);
      await until(async () => blockedClients(await admin.info('clients')) === 1, 10_000);
      expect(await admin.client('UNBLOCK', id)).toBe(1);
      expect(await first).toBeNull();
      const second = blocked.blpop('none', 0);
      await until(async () => blockedClients(await admin.info('clients')) === 1, 10_000);
      expect(await admin.client('UNBLOCK', id, 'ERROR')).toBe(1);
      await expect(second).rejects.toThrow('UNBLOCKED client unblocked via CLIENT UNBLOCK');
      expect(await admin.client('UNBLOCK', id)).toBe(0);
    } finally {
      blocked.disconnect();
      admin.disconnect();
      await redis.close();
    }
  });
});
