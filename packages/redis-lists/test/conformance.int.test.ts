import { describeTransport } from '@relaybus/conformance';
import { silentLogger } from '@relaybus/core';
import { type RedisServer, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll } from 'vitest';
import { listsCapabilities, RedisListsTransport } from '../src/index.js';

let server: RedisServer | undefined;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server?.stop();
});

function url(): string {
  if (server === undefined) throw new Error('the Redis server is not started yet');
  return server.url;
}

describeTransport(
  'redis-lists reliable (standalone)',
  () =>
    new RedisListsTransport({
      connection: { url: url() },
      heartbeatTtlMs: 600,
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 600, capabilities: listsCapabilities('reliable') },
);

describeTransport(
  'redis-lists simple (standalone)',
  () =>
    new RedisListsTransport({
      connection: { url: url() },
      mode: 'simple',
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 600, capabilities: listsCapabilities('simple') },
);
