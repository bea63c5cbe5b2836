import { silentLogger } from '@relaybus/core';
import { type RedisServer, randomSubject, startRedis, until } from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cache, cacheKeyNames, createCache } from '../src/index.js';

const PASSWORD = 'server-secret';
let server: RedisServer;
let raw: Redis;
const caches: Cache<unknown>[] = [];

beforeAll(async () => {
  server = await startRedis({ tls: true, password: PASSWORD });
  raw = new Redis(server.url);
  // The restart test drops this connection too; it reconnects by itself.
  raw.on('error', () => undefined);
  await raw.call('ACL', 'SETUSER', 'cache-user', 'on', '>user-secret', '~*', '&*', '+@all');
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(caches.map((cache) => cache.close()));
  raw?.disconnect();
  await server?.stop();
});

async function subscribers(channel: string): Promise<number> {
  const reply = (await raw.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

describe('connections', () => {
  it('works over TLS as an ACL user from a credentials provider, subscriber connection included', async () => {
    const tls = server.tls;
    if (tls === undefined) throw new Error('the server has no TLS endpoint');
    let fetched = 0;
    const redis = {
      url: `rediss://127.0.0.1:${tls.port}`,
      tls: { ca: tls.ca },
      credentials: async () => {
        fetched++;
        return { username: 'cache-user', password: 'user-secret' };
      },
    };
    const name = randomSubject('tls');
    const reader = createCache<string>({ redis, name, logger: silentLogger });
    const writer = createCache<string>({ redis, name, logger: silentLogger });
    caches.push(reader, writer);
    const waiting = reader.wait('k', { timeoutMs: 20_000 });
    await until(async () => (await subscribers(cacheKeyNames('relaybus:', name, 'k').channel)) === 1, 10_000);
    await writer.set('k', 'secure');
    expect(await waiting).toBe('secure');
    expect(await reader.get('k')).toBe('secure');
    // The command and subscriber connections of the reader, and the writer's: each asked.
    expect(fetched).toBeGreaterThanOrEqual(3);
    const clients = String(await raw.call('CLIENT', 'LIST'));
    expect(clients).toMatch(/name=relaybus:cache-subscriber .*user=cache-user/);
  });

  it('keeps waiting through a server restart and sees a value written after it', async () => {
    const name = randomSubject('restart');
    const reader = createCache<string>({ redis: { url: server.url }, name, logger: silentLogger });
    const writer = createCache<string>({ redis: { url: server.url }, name, logger: silentLogger });
    caches.push(reader, writer);
    const channel = cacheKeyNames('relaybus:', name, 'k').channel;
    const waiting = reader.wait('k', { timeoutMs: 30_000 });
    await until(async () => (await subscribers(channel)) === 1, 10_000);
    await server.restart();
    // The write may land before or after the reader subscribed again: it is received or read.
    await writer.set('k', 'after restart');
    expect(await waiting).toBe('after restart');
    await until(async () => (await subscribers(channel)) === 0, 10_000, 'the unsubscribe');
  });
});
