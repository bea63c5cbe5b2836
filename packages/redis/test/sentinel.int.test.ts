import { silentLogger } from '@relaybus/core';
import { RedisConnector, resolveRedisOptions } from '@relaybus/redis';
import {
  type RedisSentinel,
  type RedisServer,
  randomSubject,
  realRedisSuite,
  startRedis,
  startRedisSentinel,
} from '@relaybus/testing';
import { Redis } from 'iovalkey';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let primary: RedisServer;
let sentinel: RedisSentinel;
const suite = realRedisSuite(
  'RedisConnector through Sentinel',
  'Sentinel (redis-server --sentinel), which the embedded server does not offer',
  { local: true },
);

beforeAll(async () => {
  if (suite.skip) return;
  primary = await startRedis({ password: 'primary-pw', server: 'real' });
  sentinel = await startRedisSentinel({
    master: { host: primary.host, port: primary.port, password: 'primary-pw' },
  });
});
afterAll(async () => {
  await sentinel?.stop();
  await primary?.stop();
});

describe.skipIf(suite.skip)(suite.title, () => {
  it('finds the primary through the sentinel and writes to it', async () => {
    const made = new RedisConnector(
      resolveRedisOptions({
        sentinel: { sentinels: [{ host: sentinel.host, port: sentinel.port }], name: sentinel.name },
        password: 'primary-pw',
      }),
      silentLogger,
    );
    try {
      const key = randomSubject('sentinel');
      await made.client('publisher').set(key, 'via-sentinel');
      const direct = new Redis(primary.url);
      expect(await direct.get(key)).toBe('via-sentinel');
      direct.disconnect();
      expect(made.health().status).toBe('ready');
    } finally {
      await made.close();
    }
  });
});
