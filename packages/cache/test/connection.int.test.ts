import { silentLogger } from '@relaybus/core';
import {
  type RedisServer,
  type RedisServerOptions,
  randomSubject,
  realRedisSuite,
  startRedis,
  until,
} from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cache, cacheKeyNames, createCache } from '../src/index.js';

const PASSWORD = 'server-secret';
const caches: Cache<unknown>[] = [];

interface Served {
  readonly server: RedisServer;
  /** An admin connection (it reconnects by itself after a restart). */
  readonly raw: Redis;
}

/** Starts a server for the calling describe, with the cache's ACL user; skipped when `skip`. */
function useServer(options: RedisServerOptions, skip = false): () => Served {
  let served: Served | undefined;
  beforeAll(async () => {
    if (skip) return;
    const server = await startRedis({ ...options, password: PASSWORD });
    const raw = new Redis(server.url);
    // The restart test drops this connection too; it reconnects by itself.
    raw.on('error', () => undefined);
    served = { server, raw };
    await raw.call('ACL', 'SETUSER', 'cache-user', 'on', '>user-secret', '~*', '&*', '+@all');
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(caches.splice(0).map((cache) => cache.close()));
    served?.raw.disconnect();
    await served?.server.stop();
  });
  return () => {
    if (served === undefined) throw new Error('the server is not started yet');
    return served;
  };
}

async function subscribers(raw: Redis, channel: string): Promise<number> {
  const reply = (await raw.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

const tlsSuite = realRedisSuite('connections over TLS', 'TLS, which the embedded server does not speak', {
  local: true,
});

describe.skipIf(tlsSuite.skip)(tlsSuite.title, () => {
  const served = useServer({ tls: true, server: 'real' }, tlsSuite.skip);

  it('works over TLS as an ACL user from a credentials provider, subscriber connection included', async () => {
    const { server, raw } = served();
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
    await until(
      async () => (await subscribers(raw, cacheKeyNames('relaybus:', name, 'k').channel)) === 1,
      10_000,
    );
    await writer.set('k', 'secure');
    expect(await waiting).toBe('secure');
    expect(await reader.get('k')).toBe('secure');
    // The command and subscriber connections of the reader, and the writer's: each asked.
    expect(fetched).toBeGreaterThanOrEqual(3);
    const clients = String(await raw.call('CLIENT', 'LIST'));
    expect(clients).toMatch(/name=relaybus:cache-subscriber .*user=cache-user/);
  });
});

describe('connections', () => {
  const served = useServer({});

  it('keeps waiting through a server restart and sees a value written after it', async () => {
    const { server, raw } = served();
    const name = randomSubject('restart');
    const reader = createCache<string>({ redis: { url: server.url }, name, logger: silentLogger });
    const writer = createCache<string>({ redis: { url: server.url }, name, logger: silentLogger });
    caches.push(reader, writer);
    const channel = cacheKeyNames('relaybus:', name, 'k').channel;
    const waiting = reader.wait('k', { timeoutMs: 30_000 });
    await until(async () => (await subscribers(raw, channel)) === 1, 10_000);
    await server.restart();
    // The write may land before or after the reader subscribed again: it is received or read.
    await writer.set('k', 'after restart');
    expect(await waiting).toBe('after restart');
    await until(async () => (await subscribers(raw, channel)) === 0, 10_000, 'the unsubscribe');
  });
});
