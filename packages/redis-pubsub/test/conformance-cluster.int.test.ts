import { describeTransport } from '@relaybus/conformance';
import { silentLogger } from '@relaybus/core';
import { type RedisCluster, startRedisCluster } from '@relaybus/testing';
import { afterAll, beforeAll } from 'vitest';
import { type PubSubMode, pubsubCapabilities, RedisPubSubTransport } from '../src/index.js';

let cluster: RedisCluster | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

function transport(mode: PubSubMode): RedisPubSubTransport {
  if (cluster === undefined) throw new Error('the Redis Cluster is not started yet');
  return new RedisPubSubTransport({
    connection: { cluster: { nodes: cluster.urls } },
    mode,
    logger: silentLogger,
  });
}

describeTransport('redis-pubsub sharded (Cluster)', () => transport('sharded'), {
  capabilities: pubsubCapabilities('sharded', true),
});

describeTransport('redis-pubsub classic (Cluster)', () => transport('classic'), {
  capabilities: pubsubCapabilities('classic', true),
});
