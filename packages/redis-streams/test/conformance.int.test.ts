import { describeTransport } from '@relaybus/conformance';
import { silentLogger } from '@relaybus/core';
import { type RedisServer, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll } from 'vitest';
import { RedisStreamsTransport, streamsCapabilities } from '../src/index.js';

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
  'redis-streams (standalone)',
  () =>
    new RedisStreamsTransport({
      connection: { url: url() },
      minIdleMs: 500,
      blockMs: 1_000,
      delayedPollMs: 100,
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 500, capabilities: streamsCapabilities(false) },
);

describeTransport(
  'redis-streams (standalone, ordered, 4 partitions)',
  () =>
    new RedisStreamsTransport({
      connection: { url: url() },
      minIdleMs: 500,
      blockMs: 1_000,
      leaseMs: 600,
      delayedPollMs: 100,
      defaults: { ordered: true, partitions: 4 },
      logger: silentLogger,
    }),
  { redeliveryIdleMs: 500, capabilities: streamsCapabilities(true) },
);
