import { silentLogger } from '@relaybus/core';
import { RedisConnector, resolveRedisOptions } from '@relaybus/redis';
import { type RedisServer, randomSubject, realRedisSuite, startRedis, until } from '@relaybus/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

let server: RedisServer;
const connectors: RedisConnector[] = [];
const suite = realRedisSuite('RedisConnector over TLS', 'TLS, which the embedded server does not speak', {
  local: true,
});

beforeAll(async () => {
  if (suite.skip) return;
  server = await startRedis({ tls: true, password: 'tls-pw', server: 'real' });
});
afterEach(async () => {
  await Promise.all(connectors.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server?.stop();
});

describe.skipIf(suite.skip)(suite.title, () => {
  it('connects with rediss:// and the server CA', async () => {
    const tls = server.tls!;
    expect(tls.url).toMatch(/^rediss:\/\/:tls-pw@127\.0\.0\.1:\d+$/);
    const made = new RedisConnector(resolveRedisOptions({ url: tls.url, tls: { ca: tls.ca } }), silentLogger);
    connectors.push(made);
    const client = made.client('publisher');
    const key = randomSubject('tls');
    await client.set(key, 'secure');
    expect(await client.get(key)).toBe('secure');
    const info = String(await client.info('server'));
    expect(info).toContain(`tcp_port:${server.port}`);
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const made = new RedisConnector(
      resolveRedisOptions({ url: server.tls!.url, maxRetriesPerRequest: 0 }),
      silentLogger,
    );
    connectors.push(made);
    made.client('publisher');
    await until(() => made.health().lastError !== undefined, 5_000, 'a TLS error');
    expect(made.health().lastError).toMatch(/certificate/i);
    expect(made.health().status).not.toBe('ready');
  });
});
