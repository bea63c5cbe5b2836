import { describeTransport } from '@relaybus/conformance';
import { silentLogger } from '@relaybus/core';
import { type RedisServer, startRedis } from '@relaybus/testing';
import { afterAll, beforeAll } from 'vitest';
import { pubsubCapabilities, RedisPubSubTransport } from '../src/index.js';

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
  'redis-pubsub classic (standalone)',
  () => new RedisPubSubTransport({ connection: { url: url() }, mode: 'classic', logger: silentLogger }),
  { capabilities: pubsubCapabilities('classic', false) },
);

describeTransport(
  'redis-pubsub sharded (standalone)',
  () => new RedisPubSubTransport({ connection: { url: url() }, mode: 'sharded', logger: silentLogger }),
  { capabilities: pubsubCapabilities('sharded', false) },
);
