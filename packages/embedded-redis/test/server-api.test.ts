import { connect } from 'node:net';
import { Redis } from 'iovalkey';
import { describe, expect, it } from 'vitest';
import { until } from '../../testing/dist/index.js';
import { ManualClock, startEmbeddedRedis } from '../src/index.js';

describe('in-process API', () => {
  it('reads and writes keys, advances the clock, injects errors, counts and drops clients', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const redis = await startEmbeddedRedis({ clock });
    const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    try {
      const server = redis.server;
      server.setString('direct', 'value', { ttlMs: 1000 });
      expect(await client.get('direct')).toBe('value');
      await client.set('from-client', 'x');
      expect(server.getString('from-client')?.toString()).toBe('x');
      expect(server.run(['HSET', 'h', 'f', 'v'])).toEqual({ kind: 'integer', value: 1 });
      expect(server.run(['GET', 'h'])).toEqual({
        kind: 'error',
        value: 'WRONGTYPE Operation against a key holding the wrong kind of value',
      });
      server.advance(1000);
      expect(await client.exists('direct')).toBe(0);

      server.injectError('LOADING Redis is loading the dataset in memory', 2);
      await expect(client.get('from-client')).rejects.toThrow(
        'LOADING Redis is loading the dataset in memory',
      );
      await expect(client.set('a', 'b')).rejects.toThrow('LOADING');
      expect(await client.get('from-client')).toBe('x');

      expect(server.connectionCount).toBe(1);
      const second = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
      await second.connect();
      await second.ping();
      expect(server.connectionCount).toBe(2);
      const closed = new Promise((resolve) => second.once('close', resolve));
      server.dropClients();
      await closed;
      expect(server.connectionCount).toBe(0);
      second.disconnect();
    } finally {
      client.disconnect();
      await redis.close();
    }
  });

  it('disconnects a Pub/Sub client whose unsent output passes the limit; others go on', async () => {
    const redis = await startEmbeddedRedis();
    const publisher = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    await publisher.connect();
    try {
      expect(await publisher.config('SET', 'client-output-buffer-limit', 'pubsub 1mb 0 0')).toBe('OK');
      const slow = connect(redis.port, '127.0.0.1');
      let subscribed = false;
      slow.on('data', (chunk) => {
        if (chunk.toString('latin1').includes('subscribe')) {
          subscribed = true;
          slow.pause();
        }
      });
      slow.on('error', () => {});
      slow.write('SUBSCRIBE news\r\n');
      await until(() => subscribed, 10_000);
      const payload = Buffer.alloc(64 * 1024, 120);
      let receivers = 1;
      for (let round = 0; round < 400 && receivers > 0; round++) {
        receivers = (await publisher.publish('news', payload)) as number;
      }
      expect(receivers).toBe(0);
      await until(() => redis.server.connectionCount === 1, 10_000);
      expect(await publisher.ping()).toBe('PONG');
      slow.destroy();
    } finally {
      publisher.disconnect();
      await redis.close();
    }
  });
});
